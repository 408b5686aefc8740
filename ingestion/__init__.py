"""The bronze layer: dlt sources (``sql_sources``, ``files``) and the pipelines that load
them into the raw schemas (``pipelines``). The operator package ``medallion`` calls them."""
