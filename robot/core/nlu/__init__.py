"""Understanding customers' replies beyond yes and no: morphology, dates, intents (pure)."""
