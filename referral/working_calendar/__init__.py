"""The working calendar: the country's corrections to the ``holidays`` package's days off and working days."""
