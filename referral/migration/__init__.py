"""Moving running cases from one published version of their workflow to another."""
