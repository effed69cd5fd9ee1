"""Running the course as a workshop: challenges checked from a learner's own runs (``challenges``), class
progress and the leaderboard (``progress``), and resume links that find a learner's keys from any app
replica (``resume``)."""
