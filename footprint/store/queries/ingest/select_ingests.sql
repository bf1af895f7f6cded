SELECT ingest_id, ingested_at, file_name, file_bytes, source_format, rows_read, rows_added, rows_present,
       rows_rejected, rows_skipped, fields_dropped
  FROM ingests ORDER BY ingest_id
