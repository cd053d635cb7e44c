"""Partner health reports: who sends whom leads, and how they fare."""
