-- IP addresses libvirt knows for a running domain (DHCP leases of its networks), as a JSON array.
ALTER TABLE vms ADD COLUMN ips TEXT NOT NULL DEFAULT '[]';
