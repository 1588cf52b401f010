"""Stage 2: Article -> EnrichedArticle (topics and named entities) on `news.enriched`."""
