"""The reason-code catalog: the single source for codes, default severities, messages and documentation.

A code, once shipped, keeps its meaning. `docverify explain CODE` and the reports read this table.
"""
from __future__ import annotations

from dataclasses import dataclass

from checks.model import Finding, InputError


@dataclass(frozen=True)
class Code:
    code: str
    severity: str
    message: str  # str.format template over the finding's evidence
    why: str
    genuine: str
    false_positives: str


_CODES = [
    # --- input -------------------------------------------------------------------------------
    Code("INPUT_EMPTY", "high", "The file is empty (0 bytes).",
         "An empty upload carries no evidence; usually a failed upload or a broken client.",
         "A document file has content.",
         "None: re-upload the file."),
    Code("INPUT_NOT_FOUND", "high", "The file could not be read: {reason}.",
         "The path given on the command line does not exist or is not readable.",
         "A readable file.",
         "A typo in the path or missing permissions."),
    Code("INPUT_UNSUPPORTED", "high", "The file type is not supported ({detected}); expected PDF, JPEG, PNG, TIFF, WebP or BMP.",
         "Types are sniffed from the bytes, not the extension, so a renamed file cannot slip past the checks.",
         "A PDF exported by the issuer, or a photo/scan saved as JPEG or PNG.",
         "Office documents or HEIC photos: convert them to PDF or JPEG first."),
    Code("INPUT_TOO_LARGE", "high", "The file is {size} bytes, above the limit of {limit} bytes.",
         "Very large uploads are refused before parsing to protect the workers.",
         "Statements and proofs are typically well under 20 MB.",
         "Very high resolution scans: rescan at 300 dpi, or raise limits.max_file_bytes."),
    Code("INPUT_TOO_MANY_PAGES", "high", "The document has {pages} pages, above the limit of {limit}.",
         "A page limit bounds the work one upload can cause.",
         "A bank statement of a few months has a handful of pages.",
         "Long statements covering years: split them, or raise limits.max_pages."),
    Code("INPUT_TOO_MANY_PIXELS", "high", "The image has {pixels} pixels, above the limit of {limit} (possible decompression bomb).",
         "A small file that decodes to a huge image can exhaust a worker's memory.",
         "Phone photos are 12–50 megapixels; scans of A4 at 300 dpi about 9 megapixels.",
         "Panoramas or very large scans: raise limits.max_pixels."),
    Code("INPUT_ENCRYPTED", "high", "The PDF is password-protected and cannot be opened.",
         "An encrypted file cannot be inspected; nothing can be said about its authenticity.",
         "Issuers' exports open without a password (an owner password that only restricts editing is fine).",
         "A statement protected with the account holder's password: ask for an unprotected export."),
    Code("INPUT_CORRUPT", "high", "The file is damaged and cannot be read: {reason}.",
         "A truncated or corrupt file cannot be checked, and corruption itself can hide edits.",
         "An issuer's file opens cleanly.",
         "Interrupted uploads or downloads: re-upload the original file."),
    # --- PDF structure -----------------------------------------------------------------------
    Code("PDF_REVISION_CONTENT_CHANGED", "high",
         "Revision {revision} of {revisions} changed {changed} after the document was first saved.",
         "A PDF saved incrementally keeps its earlier revisions. An update that replaces a page's content "
         "stream, a font or an image means the visible document was altered after the issuer produced it.",
         "Issuers' exports have a single revision, or later revisions that only add a signature, "
         "annotations, form values or metadata.",
         "A document edited legitimately by its issuer before sending (rare for bank exports); "
         "some employers fill a letter template in a PDF editor."),
    Code("PDF_REVISION_BENIGN", "low",
         "Revision {revision} of {revisions} only changed {changed}.",
         "Information for the reviewer: the file was saved again, but the update did not touch page content.",
         "Signed or form-filled PDFs carry such updates; they are normal.",
         "This is not a flag on its own."),
    Code("PDF_EDITOR_SOFTWARE", "medium", "{field} names PDF editing software: {value}.",
         "Issuers' report engines write their own Producer. Editing software in Producer or Creator means "
         "the file passed through an editor after (or instead of) the issuer's export.",
         "A bank or social-insurance export names the issuer's reporting engine or a PDF library.",
         "Employers legitimately write letters in WPS or Word and print to PDF; some portals use consumer "
         "converters. Metadata alone never leads to reject."),
    Code("PDF_MODIFIED_AFTER_CREATION", "low",
         "The PDF was modified {delay} after it was created ({created} → {modified}).",
         "Exports are written in one go, so their creation and modification dates agree within seconds.",
         "CreationDate and ModDate equal or a few seconds apart.",
         "Documents prepared over time by an employer; tools that stamp ModDate on every save."),
    Code("PDF_METADATA_MISMATCH", "medium", "The Info dictionary and XMP metadata disagree on {field}: {info} vs {xmp}.",
         "Editors often update one metadata store and not the other, leaving a trace of the second save.",
         "The issuer's software writes both stores in the same save, so they agree.",
         "Some older converters write XMP with another tool name."),
    Code("PDF_METADATA_MISSING", "low", "The PDF carries no {missing}.",
         "Stripping metadata is a common step after editing, to hide the editor.",
         "Most issuers' exports name their producer and creation date.",
         "Some issuers' engines write no metadata at all."),
    Code("PDF_METADATA_MALFORMED", "low", "The PDF date {field} is not a valid date: {value}.",
         "Hand-edited or tool-forged metadata often breaks the PDF date syntax (D:YYYYMMDDHHmmSS).",
         "Valid PDF dates.",
         "A few old generators write non-standard dates."),
    Code("PDF_REVISION_TEXT_CHANGED", "high",
         "Revision {revision} of {revisions} changed the text on the page: '{before}' became '{after}'.",
         "The earlier revision of an incrementally saved PDF can be rebuilt and read. Text that differs between "
         "the issuer's revision and a later one was typed in after the issuer produced the document; the bbox "
         "shows where.",
         "Issuers' exports have a single revision, or later revisions that only add a signature, "
         "annotations, form values or metadata, so the words on the page never change between revisions.",
         "A document corrected by its own issuer before sending; a letter template filled in a PDF editor."),
    Code("PDF_SIGNATURE_BYTERANGE_INVALID", "high", "Signature '{field}' does not cover the file properly: {problem}.",
         "A signature covers the bytes in its ByteRange: everything from the start of the file to the end of the "
         "revision it was made in, except its own value. A range with gaps, overlaps or an odd end leaves bytes "
         "that were never signed, which is how signed documents are altered while still looking signed.",
         "The ByteRange starts at 0, skips exactly the /Contents hex string and ends at a revision's %%EOF.",
         "Broken signing software is rare; a damaged file shows other problems too."),
    Code("PDF_CHANGED_AFTER_SIGNING", "high",
         "Signature '{field}' covers the first {covered} of {size} bytes; revision {revision} changed page content after signing.",
         "Updates appended after a signature are outside what it vouches for. Signatures, timestamps and "
         "validation data may follow; a change to page content after signing defeats the signature.",
         "Signed statements end with the signature's revision, or with further signatures and timestamps.",
         "A signed form later filled in by the applicant changes form fields, which is reported as benign."),
    Code("PDF_REWRITTEN", "medium",
         "The file was last written by {writer}, while its Producer names {producer}: it was rewritten after it was made.",
         "The program that writes a PDF leaves its own binary comment on the second line of the file, while a "
         "rewriting tool usually keeps the original Producer. A full rewrite is how an edited file loses its "
         "revision history, so a file last written by a general-purpose PDF tool is reviewed even when its "
         "pages look clean.",
         "An issuer's export carries the header of the software its Producer names.",
         "Issuers that post-process exports with qpdf, pypdf or Ghostscript (compression, linearization for "
         "fast web view — reported as low), and archives that re-save files."),
    Code("PDF_EDIT_HISTORY", "medium", "The XMP edit history records saves by editing software: {agents}.",
         "Adobe and other editors append an entry to xmpMM:History on every save; it survives a full rewrite "
         "unless the XMP packet is rewritten too.",
         "An issuer's export has no history, or one 'created'/'converted' entry by its report engine.",
         "Documents an employer prepared in Acrobat before sending."),
    # --- PDF overlays and masked text (checks/pdf_overlay.py) ---
    # --- PDF font and layout consistency (checks/pdf_fonts.py) ---
    # --- PDF text layer vs rendering (checks/pdf_glyphs.py) ---
]

CATALOG: dict[str, Code] = {c.code: c for c in _CODES}


def finding(code: str, *, page: int | None = None, bbox=None, units: str | None = None,
            severity: str | None = None, **evidence) -> Finding:
    """Build a Finding whose message comes from the catalog template filled with the evidence."""
    entry = CATALOG[code]
    return Finding(code=code, severity=severity or entry.severity, message=entry.message.format(**evidence),
                   page=page, bbox=tuple(bbox) if bbox is not None else None,
                   units=units, evidence=evidence)


def input_error(code: str, **details) -> InputError:
    """An InputError whose message comes from the catalog, for uploads that cannot be checked."""
    return InputError(code, CATALOG[code].message.format(**details))
