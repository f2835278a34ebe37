"""Cases: the child's record, consents, the timeline, and who may see what of it."""
