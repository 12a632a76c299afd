-- The vCPUs a template suggests (read from an OVA's OVF, or given at upload); 0 when it says nothing.
ALTER TABLE images ADD COLUMN default_vcpus INTEGER NOT NULL DEFAULT 0;

-- The structured details of a failed task's error (what the UI words it with), as JSON.
ALTER TABLE tasks ADD COLUMN error_details TEXT;
