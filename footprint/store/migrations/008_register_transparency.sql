-- Transparency register (issue 18): where each use case's data is processed, and when staff
-- representatives were last consulted about it. Both optional: older use cases show "not stated".
ALTER TABLE use_cases ADD COLUMN data_location VARCHAR;      -- on-prem | eu | outside-eu
ALTER TABLE use_cases ADD COLUMN last_consultation DATE;     -- last consultation of staff representatives
