"""Uploads a file to Hangar with tuspy, a sha1 checksum on every chunk: `py_client.py BASE TOKEN FILE HOST_ID`.

Prints the upload's URL. Used by server/tests/tus_clients.rs: a real tus client that is not ours.
"""
import os
import sys

from tusclient import client

base, token, path, host = sys.argv[1:5]
c = client.TusClient(f"{base}/api/v1/uploads", headers={"Authorization": f"Bearer {token}"})
uploader = c.uploader(
    path,
    chunk_size=1024 * 1024,
    upload_checksum=True,
    metadata={"filename": os.path.basename(path), "kind": "iso", "host": host, "visibility": "private"},
)
uploader.upload()
print(uploader.url)
