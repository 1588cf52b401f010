"""Stage 1: feeds -> Article records on `news.raw` (fetch, parse, dedup, schedule)."""
