"""The shell around the features: the navigation with its counts, the home page, the language switch."""
