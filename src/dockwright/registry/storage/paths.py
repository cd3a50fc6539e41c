"""Where the registry keeps things, as driver paths.

The layout is CNCF Distribution's, so a ``rootdirectory`` written by
``registry:2`` can be served (and the reverse). Bytes are stored once, by
digest; a repository holds only *links* (small files whose content is a
digest), and reads only the blobs it has linked: that gives deduplication and
cross-repository mount, and keeps one repository from reading another's blobs
by guessing digests.

    /docker/registry/v2/
    ├── blobs/<alg>/<hex[:2]>/<hex>/data              verified bytes, written once
    └── repositories/<name>/                           <name> may contain "/"
        ├── _layers/<alg>/<hex>/link                  blobs this repository may serve
        ├── _manifests/
        │   ├── revisions/<alg>/<hex>/link            manifests pushed here
        │   └── tags/<tag>/
        │       ├── current/link                      digest the tag points at now
        │       └── index/<alg>/<hex>/link            every digest it has pointed at
        ├── _referrers/<subj-alg>/<subj-hex>/<alg>/<hex>/link
        │                                             manifests whose subject is subj
        └── _uploads/<uuid>/
            ├── data                                  bytes received so far
            └── startedat                             RFC 3339 start time

A blob is written under ``_uploads/<uuid>/data``, verified against the digest
the client names, and only then moved to ``blobs/.../data``: an interrupted
upload leaves garbage under ``_uploads`` (swept by GC after its grace period),
never a visible blob.
"""

from __future__ import annotations

from dockwright.oci.digest import algorithm, hex_part

ROOT = "/docker/registry/v2"
BLOBS = f"{ROOT}/blobs"
REPOSITORIES = f"{ROOT}/repositories"


def blob_dir(digest: str) -> str:
    h = hex_part(digest)
    return f"{BLOBS}/{algorithm(digest)}/{h[:2]}/{h}"


def blob_data(digest: str) -> str:
    return blob_dir(digest) + "/data"


def repo(name: str) -> str:
    return f"{REPOSITORIES}/{name}"


def layer_link(name: str, digest: str) -> str:
    return f"{repo(name)}/_layers/{algorithm(digest)}/{hex_part(digest)}/link"


def layers(name: str) -> str:
    return f"{repo(name)}/_layers"


def manifests(name: str) -> str:
    return f"{repo(name)}/_manifests"


def revisions(name: str) -> str:
    return f"{manifests(name)}/revisions"


def revision_link(name: str, digest: str) -> str:
    return f"{revisions(name)}/{algorithm(digest)}/{hex_part(digest)}/link"


def tags(name: str) -> str:
    return f"{manifests(name)}/tags"


def tag_dir(name: str, tag: str) -> str:
    return f"{tags(name)}/{tag}"


def tag_current(name: str, tag: str) -> str:
    return f"{tag_dir(name, tag)}/current/link"


def tag_index_link(name: str, tag: str, digest: str) -> str:
    return f"{tag_dir(name, tag)}/index/{algorithm(digest)}/{hex_part(digest)}/link"


def referrers(name: str, subject: str) -> str:
    return f"{repo(name)}/_referrers/{algorithm(subject)}/{hex_part(subject)}"


def referrer_link(name: str, subject: str, digest: str) -> str:
    return f"{referrers(name, subject)}/{algorithm(digest)}/{hex_part(digest)}/link"


def referrers_root(name: str) -> str:
    return f"{repo(name)}/_referrers"


def uploads(name: str) -> str:
    return f"{repo(name)}/_uploads"


def upload_data(name: str, upload_id: str) -> str:
    return f"{uploads(name)}/{upload_id}/data"


def upload_started(name: str, upload_id: str) -> str:
    return f"{uploads(name)}/{upload_id}/startedat"


def upload_dir(name: str, upload_id: str) -> str:
    return f"{uploads(name)}/{upload_id}"


def digest_from_parts(parts: list[str]) -> str:
    """``[..., "sha256", "<hex>", "link"]`` → ``sha256:<hex>``."""
    return f"{parts[-3]}:{parts[-2]}"
