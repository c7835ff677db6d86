"""Learning loops run on exact problems: REINFORCE, NPG, TRPO, behavioural cloning, DAgger, GCSL."""
