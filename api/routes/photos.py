"""Evidence photos (workflows/photos.py): upload one, read one.

    POST /photos          multipart `file`: checked (type, size), kept under its content hash
    GET  /photos/{id}     the image, for callers who may read a node that links it

Readers in the bureau (an inspector in scope, analysts, admins) get the original; everyone else the
copy without its location. A photo not yet linked from any node is readable by its uploader only.
"""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, File, Path, UploadFile
from fastapi.responses import Response

from riskgraph.api.access import Role
from riskgraph.api.deps import CONTEXT, Context
from riskgraph.api.errors import ApiError, not_found, unauthorized
from riskgraph.api.models import Out, file_response
from riskgraph.api.routes.workflow_common import audit, photo_store
from riskgraph.ontology.errors import N_
from riskgraph.ontology.model import Disclosure
from riskgraph.workflows.photos import PhotoError, is_photo_id

router = APIRouter(tags=["photos"])
#: read in chunks, so an oversized upload is refused without holding it all
CHUNK = 1 << 16
_STATUS = {"too_large": (413, "payload_too_large"), "unsupported_type": (415, "unsupported_media_type"),
           "unreadable": (422, "validation_error")}


class PhotoOut(Out):
    id: str
    mediaType: str
    bytes: int
    width: int
    height: int
    locationRemovedForPublic: bool


@router.post("/photos", response_model=PhotoOut, status_code=201,
             summary="upload an evidence photo (JPEG, PNG or WebP, at most RISKGRAPH_PHOTO_MAX_BYTES); its id "
                     "goes into a write's `photos` (logged-in accounts)")
async def upload(file: UploadFile = File(..., description="the image"), ctx: Context = CONTEXT) -> dict[str, Any]:
    if ctx.caller.anonymous:
        raise unauthorized(N_("log in to upload photos"))
    store = photo_store(ctx.request)
    limit = store.settings.max_bytes
    data = bytearray()
    while chunk := await file.read(CHUNK):
        data.extend(chunk)
        if len(data) > limit:
            raise ApiError(413, "payload_too_large", N_("a photo is at most {limit:,} bytes"), limit=limit)
    try:
        photo = store.put(bytes(data), uploaded_by=ctx.caller.username)
    except PhotoError as exc:
        status, code = _STATUS.get(exc.code, (422, "validation_error"))
        raise ApiError(status, code, exc.message) from None
    audit(ctx, "photo_upload", "ok", 201, subject=f"Photo/{photo.id[:16]}", details={"bytes": photo.bytes})
    return photo.describe()


@router.get("/photos/{id}", response_class=Response,
            responses=file_response("image/*", "the image: the original for the bureau, without location for others"),
            summary="an evidence photo, for callers who may read a node that links it")
def read(id: str = Path(..., min_length=64, max_length=64, description="the photo's SHA-256"),
         ctx: Context = CONTEXT) -> Response:
    store = photo_store(ctx.request)
    photo = store.get(id.lower()) if is_photo_id(id.lower()) else None
    if photo is None:
        raise not_found(N_("photo {id}…"), id=id[:12])
    caller = ctx.caller
    links = store.attachments(photo.id)
    best = Disclosure.PUBLIC
    readable = False
    if links:
        nodes = {}
        for label, key in links:
            props = ctx.store.get_node(label, key)
            if props is not None:
                nodes[(label, key)] = props
        for ref, lvl in ctx.scope.levels(nodes).items():
            if ctx.onto.disclosure_of(ref[0], "photos") <= min(lvl, caller.ceiling):
                readable = True
                best = max(best, min(lvl, caller.ceiling))
    elif caller.username is not None and caller.username == photo.uploaded_by:
        readable, best = True, Disclosure.INTERNAL  # not linked yet: the uploader's own file, as sent
    if not readable:
        if caller.anonymous:
            raise unauthorized(N_("log in to see this photo"))
        raise not_found(N_("photo {id}…"), id=id[:12])  # nothing said about a photo the caller may not see
    original = best >= Disclosure.INSPECTOR or caller.role is Role.ADMIN
    if links and best > Disclosure.PUBLIC:
        ctx.disclosed.mark(f"Photo/{photo.id[:16]}", best)
    return Response(store.read(photo, with_location=original), media_type=photo.media_type,
                    headers={"Cache-Control": "private, max-age=86400", "X-Photo-Location": "kept" if original else "removed"})
