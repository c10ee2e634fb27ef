"""Real data sets and the estimation of their spiked-covariance parameters (eta, rho)."""
