"""The warm-up kit: pitch cards, the complementarity map and cross-sell suggestions."""
