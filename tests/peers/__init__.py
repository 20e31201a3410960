"""Real third-party ActivityPub peers (Fedify from npm) that tests start and drive."""
