"""Deadlines: respond, complete and review clocks, and the sweep that reminds and escalates."""
