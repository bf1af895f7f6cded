"""Energy estimators."""
