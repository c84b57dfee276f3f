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
    Code("INPUT_UNSUPPORTED", "high", "The file type is not supported ({detected}); expected PDF, JPEG, PNG, TIFF, WebP, BMP or HEIC.",
         "Types are sniffed from the bytes, not the extension, so a renamed file cannot slip past the checks.",
         "A PDF exported by the issuer, or a photo/scan saved as JPEG or PNG.",
         "Office documents or AVIF photos: convert them to PDF or JPEG first."),
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
    Code("INPUT_ACTIVE_CONTENT", "high", "The PDF carries {content}; it is not opened for checking.",
         "Script, launch actions and embedded files let a PDF act rather than show: run code in a reviewer's "
         "viewer, or carry another document than the one on the page. Issuers' statements and proofs need none "
         "of them, so such a file is refused rather than rendered.",
         "An issuer's statement or proof is pages of text and images, perhaps with a signature and form fields.",
         "Forms whose fields compute with JavaScript; PDF portfolios that bundle several documents: ask for the "
         "documents themselves."),
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
    Code("PDF_REWRITTEN", "low",
         "The file was last written by {writer}, while its Producer names {producer}: it was rewritten after it was made.",
         "The program that writes a PDF leaves its own binary comment on the second line of the file, while a "
         "rewriting tool usually keeps the original Producer. A full rewrite is how an edited file loses its "
         "revision history, so it is worth knowing; but issuers and archives rewrite genuine files too "
         "(compression, linearization for fast web view), and a rewrite changes nothing a reader sees. Alone it "
         "is information: an edit made before the rewrite is found by what the rewrite keeps (the pages' "
         "content streams, fonts, glyphs and figures), and this finding adds weight to such findings.",
         "An issuer's export carries the header of the software its Producer names.",
         "Issuers that post-process exports with qpdf, pypdf or Ghostscript (compression, linearization), and "
         "archives that re-save files."),
    Code("PDF_EDIT_HISTORY", "medium", "The XMP edit history records saves by editing software: {agents}.",
         "Adobe and other editors append an entry to xmpMM:History on every save; it survives a full rewrite "
         "unless the XMP packet is rewritten too.",
         "An issuer's export has no history, or one 'created'/'converted' entry by its report engine.",
         "Documents an employer prepared in Acrobat before sending."),
    # --- PDF overlays and masked text (checks/pdf_overlay.py) ---
    Code("PDF_TEXT_COVERED_RETYPED", "high",
         "An opaque {cover} painted over the text “{covered_text}” hides it, and “{shown_text}” is drawn on top.",
         "The classic white-box forgery: an editor paints a box in the paper colour over the original words "
         "and types new ones on it. The page looks clean, but the file still holds the original text under "
         "the box, painted before it. paint_order gives the objects' positions in the content stream.",
         "Issuers' report engines paint cell backgrounds, zebra stripes and header bands before the text "
         "on them, and never paint a box over text they have already written.",
         "A flattened form whose field backgrounds were painted over printed text before the values; "
         "a PDF printed from a web page whose fixed header overlaps the content; a pasted stamp or "
         "sticker with an opaque background. The covered text shows what the page originally said."),
    Code("PDF_TEXT_COVERED", "medium",
         "An opaque {cover} painted over the text “{covered_text}” hides it.",
         "Text painted over by a later opaque box or image is still in the file but no longer visible: "
         "someone masked part of the page after it was produced, possibly to retype it in an image or "
         "to remove an unfavourable line.",
         "Backgrounds are painted before their text; genuine pages do not hide their own text.",
         "Opaque stamps or logos placed over text by the issuer; layout overflow where a later table "
         "cell's background hides the end of a long name in the previous cell."),
    Code("PDF_TEXT_OVERPRINTED", "high",
         "The text “{shown_text}” is drawn over other text, “{under_text}”, at the same place.",
         "A second text run painted on top of an existing one with different content replaces what the "
         "reader sees while the original stays in the file: an amount or date retyped without removing "
         "the old one, often with the old text made invisible or white (hidden is true then).",
         "Each piece of text is painted once. Where a generator paints text twice at the same spot "
         "(fake bold, a shadow) the two runs say the same thing, which is not flagged.",
         "Layout overflow where a long value runs into the next cell at the same baseline; "
         "a digital stamp whose text is placed over printed text."),
    Code("PDF_TEXT_HIDDEN", "medium",
         "Text on the page cannot be seen ({reason}): “{text}”.",
         "Text that is in the file but not visible (invisible render mode, the same colour as what is "
         "behind it, outside the visible page area, or too small to see) is read by text extraction and "
         "search, not by the reviewer: a way to hide the original of an edit or to feed different values "
         "to automated checks. runs counts the text objects concerned.",
         "Born-digital exports paint all their text visibly. Scanned pages with OCR carry an invisible "
         "text layer over the page image; that layer is recognised and not flagged.",
         "OCR layers over images smaller than 5% of the page; accessibility or search text some "
         "generators place invisibly over text drawn as outlines; print marks outside the crop box."),
    Code("PDF_TOUCHUP_EDIT", "high",
         "Acrobat's edit-text tool left {marks} TouchUp_TextEdit mark(s) on this page, where it rewrote text.",
         "Adobe Acrobat's edit-text tool writes a /TouchUp_TextEdit marked-content point before each block of "
         "text it rewrote. Report engines never write it, so it means the page was edited in Acrobat after it "
         "was produced. text holds what the marked blocks say now (empty when they cannot be located).",
         "Issuers' exports carry no TouchUp_TextEdit marks.",
         "An issuer that corrects its own template in Acrobat before export (the marks then appear on "
         "every copy, in the same place)."),
    Code("PDF_REDACTION_PENDING", "medium",
         "A redaction is marked over “{text}” but not applied.",
         "A redaction annotation that was never applied marks an area for blacking out while the text "
         "stays readable underneath; on an applicant's document it shows the file went through a redaction "
         "tool, where boxes are also used to cover and retype values.",
         "Issuers' statements and letters carry no redaction annotations.",
         "Applicants who mark personal details (ID number, other accounts) for redaction before uploading "
         "and forget to apply it."),
    # --- PDF font and layout consistency (checks/pdf_fonts.py) ---
    Code("PDF_FONT_MISMATCH", "high",
         "'{text}' is set in {font} while {peers} {scope} use {peer_font}.",
         "A forger who retypes an amount, a date or a name in a PDF editor types it in whatever font the editor "
         "offers (Helvetica, a system font), often over a white box hiding the old text. An issuer's engine sets "
         "every amount of a column, every digit of a number and the Chinese characters of a sentence in one "
         "font. High for an amount among its column, a digit inside a number, or Chinese characters in a face "
         "used nowhere else on the page inside a sentence; medium for a number whose font differs from the "
         "page's other numbers at its size, or a run of Chinese characters in a face the page also uses "
         "elsewhere (which may be emphasis).",
         "One font for all amounts of a column, all digits of a number, and the characters of a sentence (a "
         "Latin font for figures beside a Chinese one for characters is normal). Titles, labels, headers, "
         "footers and stamps may use other fonts and sizes: they are not compared with the values.",
         "A bold totals row inside an amount column whose line carries no 合计/总计/小计 word; a number or "
         "phrase emphasised in another font inside running text; a verification code printed in a face of its "
         "own; a rare character a font lacks, set in a fallback font (one character is never reported); "
         "statements merged from two exports onto one page."),
    Code("PDF_FONT_SUBSET_MIXED", "high",
         "'{text}' is set in {font}, a second embedding of {peer_font}, the font of {peers} {scope}.",
         "PDF writers embed only the glyphs a document uses, as a subset tagged ABCDEF+Font. An editor that "
         "changes text embeds the font again for what it typed: the retyped characters come from a second "
         "subset of the same face that repeats glyphs the first one already has, or from the face embedded "
         "whole (or not at all) beside the issuer's subset. High inside an amount column, a number, or a line "
         "the issuer's copy also sets; medium when the second copy stands alone on its lines.",
         "One embedding per face on a page, or several subsets that share no glyph (reportlab and other "
         "engines open a new subset once 256 glyphs are used).",
         "A stamp, page number or footer added by a second program embedding the same face (medium); "
         "publications assembled from separately produced pieces, and documents corrected by their publisher "
         "with a PDF library."),
    Code("PDF_SIZE_MISMATCH", "medium",
         "'{text}' is {size} pt while {peers} {scope} are {peer_size} pt.",
         "Retyped text is rarely set at exactly the issuer's size: the editor's default or an eyeballed size "
         "differs by a fraction of a point to a few points.",
         "All amounts of a column, and all digits of a number, at one size. Differences beyond a third of the "
         "size are typographic hierarchy and are not reported.",
         "Layouts that shrink one long amount to fit its cell; totals printed larger on a line without a "
         "合计/总计 word."),
    Code("PDF_BASELINE_SHIFT", "medium",
         "'{text}' stands {offset:+} pt off the baseline that {peers} {scope} share ({peer_baseline} pt from the "
         "top; + is lower).",
         "Text placed by hand in an editor, or nudged with text rise, lands a fraction of a point above or below "
         "the line it replaces. An issuer's engine puts every word of a table row, and every digit of a number, "
         "on one baseline.",
         "The words of a table row at one size, and the digits of a number, share a baseline to within a few "
         "hundredths of a point. Offsets beyond a third of the size (second lines, superscripts, vertically "
         "centred multi-line cells) are layout and not reported; lines outside tables are not compared.",
         "Tables assembled by hand from separate text boxes; superscript markers set at the body size."),
    Code("PDF_ALIGNMENT_BROKEN", "medium",
         "Amount '{text}' ends {offset:+} pt from the right edge ({peer_right} pt) that {peers} amounts of its "
         "column share.",
         "Amount columns are right-aligned. An editor keeps the left end of the text it changes, so a retyped "
         "amount with another number of digits, another font, size or spacing, or one typed in a new text box, "
         "no longer ends on the column's edge.",
         "Every amount of a column ends at the same x coordinate, to within a few hundredths of a point.",
         "Decimal-aligned columns whose amounts have different numbers of decimals; a marker or unit after "
         "some amounts in the same cell."),
    Code("PDF_SPACING_MISMATCH", "medium",
         "'{text}' advances {offset:+} pt per character against {peers} {scope} in {font} at {size} pt.",
         "Editors fit retyped text into the old box with character spacing (Tc) or horizontal scaling (Tz), "
         "and text typed elsewhere and pasted keeps its own spacing. An issuer's engine spaces every amount of "
         "a column alike.",
         "Each character advances by the same width in every amount of a column set in one font and size.",
         "Layouts that squeeze one long amount into a narrow cell."),
    # --- PDF text layer vs rendering (checks/pdf_glyphs.py) ---
    Code("PDF_GLYPH_MISMATCH", "high",
         "The text layer reads “{text}” where the page draws “{shown}” (font {font}).",
         "A PDF's text comes from the font's ToUnicode map, its picture from the glyphs the codes select. A forger "
         "who edits the map (a drawn 5 that reads as 9) or points codes at other glyphs makes the document show "
         "one amount to the reviewer and another to every program that reads its text, ours included. Each "
         "digit's glyph is cut from the rendered page and compared with the font's usual glyphs of the other "
         "digits and with reference digits (trusted for a font only when they read its digits as its text layer "
         "does). glyphs lists each mismatched digit: char (text layer), shown (drawn), distance_text and "
         "distance_shown (0 = identical shapes; different digits of one font are 0.13 and more apart) and basis "
         "(same font or reference digits); affected_words counts the words in the document.",
         "Producers write the ToUnicode map from the very font they embed, so every digit reads as it is drawn.",
         "Fonts that draw a digit in an unusual design (a slashed zero, an open 4) are read against the font's "
         "own glyphs before the references are believed, but a font seen with few digits has no such check; "
         "converters with broken ToUnicode maps (every glyph of the font is then garbled, not a few digits). "
         "Not examined: scanned pages, words under or over an image (seals), invisible or covered text, and "
         "digits under 12 raster pixels per em (4.3 pt)."),
    # --- statement arithmetic (checks/statement_arithmetic.py) ---
    Code("BALANCE_ROW_BROKEN", "high",
         "The balance on {date} reads {printed} where the rows before it give {expected} ({difference}).",
         "Every row of a statement carries the bank's running balance: previous balance + credit - debit, to the "
         "cent. A forger who changes one amount and saves the file whole can remove every trace from the file "
         "itself, but not from this arithmetic unless every later balance is changed too. suspect says whether "
         "the row's balance was changed (the next row then breaks by the opposite difference, which is not "
         "reported again) or its amount or balance; broken_rows counts such rows in the statement. High on a text "
         "PDF, where the figures are the issuer's own; medium on an OCR'd page, where a misread that the second "
         "OCR reading could not settle remains possible.",
         "Every balance follows from the one before it; a row without a printed balance (banks that print one a "
         "day) is carried on to the next printed balance, which must match.",
         "OCR misreads on photos (medium); statements that fold several accounts or currencies into one table; "
         "rows read in the wrong order when several share one date and time."),
    Code("BALANCE_TOTAL_MISMATCH", "high",
         "The statement states {total} {stated}, the rows add up to {rows}.",
         "Banks print counts and totals of credits and debits under the rows (收入合计/支出合计). An amount "
         "changed without its total, or rows added or removed, breaks them.",
         "The stated counts and totals equal the rows' own.",
         "Totals over the whole account period while the file holds only some of its pages; OCR misreads "
         "(medium on OCR'd pages)."),
    Code("BALANCE_DATE_ORDER", "medium",
         "A row dated {date} appears after a row dated {after}.",
         "Bank systems print rows in posting order, oldest or newest first throughout. A row out of order was "
         "often inserted or moved by hand.",
         "Dates run one way through the whole statement.",
         "Value-dated rows that some banks print by posting date."),
    Code("BALANCE_DATE_OUTSIDE_PERIOD", "medium",
         "A row dated {date} lies outside the statement period {start} to {end}.",
         "The header's period and the rows come from one query of the bank's system. A row outside it was added, "
         "or the header's period was changed.",
         "Every row falls inside the stated period.",
         "A misread period or date on an OCR'd page."),
    # --- contribution records (checks/contribution_arithmetic.py) ---
    Code("SI_CONTRIBUTION_MISMATCH", "high",
         "The contribution base {base} ({row}) has shares {shares}: at the record's rates ({rates}) they come "
         "from a base of {implied_base}.",
         "A social-insurance record prints each month's contribution base beside the personal and employer shares, "
         "each the base times the rate the city sets for that insurance, the same in every row. The base stands "
         "for the declared pay, so it is the figure a forger raises; changed alone, it no longer carries its shares, "
         "which still belong to the old base (implied_base). The rates are the pairs of rates at least three rows "
         "agree on, to the rounding the shares show; a row is reported only when none of its shares fits them and "
         "all point to one other base. High on a text PDF; medium on an OCR'd page, where a misread base looks "
         "the same.",
         "Every share is its row's base times its insurance's rate, to the rounding (the yuan at most).",
         "A base misread by OCR on a photo or scan (medium); records whose rates changed for every share at once "
         "in the months shown, or that print shares after a cap or a subsidy the base does not show."),
    # --- proofs (checks/proof_capitals.py) ---
    Code("INCOME_CAPITALS_MISMATCH", "high",
         "The monthly income reads {figures} in figures but {capitals} in capitals.",
         "Chinese proofs state an amount twice, in figures and in capitals (大写), so that neither can be changed "
         "alone. A forger who types a new figure and leaves the capitals, which are harder to retype in the "
         "issuer's font, leaves this disagreement whatever the file itself still shows. capitals_amount is the "
         "capitals read as a number (none when they do not parse); capitals_bbox is where they are. Medium on an "
         "OCR'd page, where a misread capital is possible.",
         "Figures and capitals name the same amount to the fen.",
         "A clerical error by the issuer (a lender returns such a proof in any case); OCR misreads of capitals "
         "on photos (medium)."),
    # --- image pixel forensics (checks/image_*.py) ---
    Code("IMG_TEXT_INCONSISTENT", "medium",
         "'{text}' differs from the numbers around it in {measures}.",
         "Digits retyped on a picture of a document are painted by the forger's editor, not by the process that made "
         "the rest of the page: another font or a look-alike, a size, weight and ink colour matched by eye, a patch of "
         "background filled in by hand. Each amount or date is measured on its pixels (glyph shapes against the "
         "page's usual glyph of each digit, height, digit pitch, stroke width, edge sharpness, ink contrast and "
         "colour, paper noise and JPEG ringing around it) and compared with its peers (the nearest numbers of its "
         "kind, its column first) by robust z-scores; evidence holds every z, the peers and, in score, the second "
         "strongest. Reported when two kinds of measure disagree (form, weight, tone, paper); high when three do.",
         "Every number of a column drawn alike: within a few robust deviations of its peers in every measure.",
         "Totals or headers set bold or in another font that the OCR reads as ordinary cells; a seal, a fold or "
         "glare across one number of a photo; an OCR box that cuts a number short or takes in a neighbour."),
    Code("IMG_COMPRESSION_INCONSISTENT", "medium",
         "A region compresses unlike the rest of the page ({method}).",
         "A JPEG opened, edited and saved again has been compressed twice where it was not touched and once where it "
         "was: recompressing the page with the earlier save's table (found as the quality the page's blocks still "
         "sit on) barely changes the old blocks and changes the new ones as much as fresh content. Each block's "
         "error is calibrated against the same pixels on a grid moved by half a block, compared only with blocks "
         "of its content class, and pooled over clusters; evidence has the method, the pooled z (score), the file's "
         "quality and a heatmap of the page (base64 PNG). The file's own table (error level analysis) is used too, "
         "at a higher bar. High when the earlier save's table shows a strong cluster.",
         "Every textured block of the page on the same lattice: a JPEG saved once, or saved again whole "
         "(recompression, a chat app's re-send) with nothing painted in between.",
         "Very small or very large text next to ordinary text (a title, a stamp) on a page saved once; a page "
         "assembled from two genuine captures; uneven recompression by some scanning apps. Resized pages lose "
         "the earlier save's traces and are not flagged by this method."),
    Code("IMG_GRID_MISALIGNED", "medium",
         "'{text}' sits on the JPEG blocks of a coarser save (about quality {quality}) on a grid other than the "
         "page's.",
         "A figure pasted from another JPEG keeps the 8x8 blocks of its own save wherever it lands: its DCT "
         "coefficients, read on a grid shifted from the page's, round to a coarse table's lattice far better than "
         "on the 62 other shifts, and better than fresh content would. Every number the OCR found is tested on all "
         "64 grids against tables coarser than the file's; evidence has the robust z (score) and the table. High "
         "at twice the threshold.",
         "Numbers that fit no coarser lattice on any grid but the page's own.",
         "A page assembled from genuine captures of different quality (a scanned attachment pasted into a "
         "letter); a figure moved within the page by a forger is flagged the same way."),
    Code("IMG_COPY_MOVE", "high",
         "'{text}' is the same print, noise and all, as the figure at {source_bbox}: copied within the page.",
         "A forger who needs a new amount can copy one the page already shows over the old one, in the issuer's own "
         "font. Genuine pages repeat figures too, so likeness is not evidence; but on a scan or a photo each print "
         "carries its own noise. Pairs of numbers that read the same are superimposed and their difference on the "
         "paper between their glyphs is compared with the difference between prints of other figures: a copy "
         "differs far less (score is that ratio). The box is the likelier copy (the one on quieter paper, cleaned "
         "before pasting); source_bbox is the other.",
         "Two prints of one figure differing on their paper as much as any two prints do.",
         "A scan saved losslessly at very low noise; pages without noise (exports, screenshots) are not judged at "
         "all, and a resize or heavy recompression hides copies."),
    # --- image provenance (checks/image_provenance.py) ---
    Code("IMG_EDITOR_SOFTWARE", "medium",
         "The image's {field} names editing software: {value}.",
         "Cameras, scanners, screenshots and banks' exports name their own firmware or nothing. An image last saved "
         "by Photoshop, a phone beauty or editing app (美图秀秀, 醒图 …) or an online editor was opened in a tool "
         "made to change pictures. The list of tools is data (checks/data/image_software.toml); the evidence names "
         "the tool, its category and the JPEG tables' estimated quality.",
         "A phone's firmware (17.5.1, ELS-AN00 4.0.0.168), a scanner's driver (EPSON Scan 2) or no Software tag.",
         "Someone who only cropped, rotated or brightened a genuine photo in an editor before uploading it; "
         "applicants who scan with a phone app that edits as it saves."),
    Code("IMG_EDIT_HISTORY", "medium",
         "The image's XMP metadata records editing (tools: {agents}; Photoshop properties: {photoshop_properties}).",
         "Adobe's tools and others write an XMP packet with the saving tool (xmp:CreatorTool), an edit history "
         "(xmpMM:History, one stEvt:softwareAgent per save) and Photoshop's own photoshop: properties. A camera "
         "photo, a scan or a bank's export carries none of this.",
         "No XMP, or XMP from the camera or scanner without editing software.",
         "Genuine photos or scans opened and re-saved in Photoshop or Lightroom without any change."),
    Code("IMG_MODIFIED_AFTER_CAPTURE", "low",
         "EXIF says the image was saved again {delay} after it was taken ({taken} → {modified}).",
         "A camera writes DateTime and DateTimeOriginal together when it takes the picture; editors rewrite "
         "DateTime when they save. A later DateTime means some program saved the picture again.",
         "DateTime equal to DateTimeOriginal, within a minute.",
         "Rotating or cropping a photo in a gallery app; a camera whose clock was reset between shots."),
    Code("IMG_CAMERA_TAGS_MISSING", "low",
         "EXIF names a {make} {model} but has none of the exposure tags a camera writes.",
         "A phone or camera writes exposure time, aperture, ISO and focal length with every photo. Make and Model "
         "without them were written by something else: a tool that copied or invented the camera's name.",
         "A photo whose EXIF has Make, Model and the exposure tags together; a scan or screenshot without camera "
         "names.",
         "Apps that rewrite EXIF and keep only some tags (some messengers, privacy tools)."),
    Code("IMG_QUANT_TABLE_EDITOR", "medium",
         "The JPEG quantization tables are those of {software} ({setting}).",
         "Every JPEG encoder picks its quantization tables: libjpeg scales the standard tables to a quality, phone "
         "cameras use their own, and Photoshop uses tables of its own for each Save As and Save for Web setting. "
         "Photoshop's tables in a document image mean Photoshop wrote the file last, whatever its metadata says. "
         "The tables are read with jpeglib; the evidence gives the closest libjpeg quality.",
         "libjpeg's standard tables at some quality (exports, scanners, many phones and chat apps) or a camera's "
         "own.",
         "A genuine picture re-saved in Photoshop without a change (a size reduction before upload, say)."),
    Code("IMG_THUMBNAIL_MISMATCH", "high",
         "The embedded EXIF thumbnail {shows}.",
         "Cameras and Photoshop store a small thumbnail in EXIF. Tools that copy EXIF without regenerating it keep "
         "the thumbnail of the picture as it was before the edit: where the two differ at one place, that place "
         "was changed (high, with the place as bbox, in pixels of the image). A thumbnail of another picture or "
         "framing altogether is medium: a crop or rotation does that too.",
         "A thumbnail that is the image, small.",
         "A crop or rotation in a tool that keeps the old thumbnail (medium, no box)."),
    # --- bundle consistency (checks/employer.py, income.py, social_insurance.py, identity.py) ---
    Code("EMPLOYER_MISMATCH", "high",
         "{claimed[file]} names {claimed[name]} as the employer but {other[file]} ({other[source]}) names "
         "{other[name]}: {reason}.",
         "Lenders require the employer on the income proof to be the one paying the applicant's social insurance: "
         "a forger can print any letterhead but not the social-insurance record, nor the payroll in the bank "
         "statement. Names are compared after undoing legitimate variants (full/half-width brackets, traditional "
         "characters, 上海/上海市, region in brackets, 有限责任公司 = 有限公司); an equal credit code decides. Evidence: "
         "both names, their normalised forms, the rapidfuzz similarity (information only), the reason, and where "
         "each name is. Medium when the other side is the salary payer or an HR agency.",
         "The proof, the social-insurance record of the latest months, the housing-fund record and the salary "
         "payer name one company, however each writes it.",
         "Social insurance or payroll run through an HR agency (人力资源, 外企服务, 劳务派遣) or a group's paying "
         "company (medium); a recent job change with an old record; a renamed company without credit codes."),
    Code("EMPLOYER_USCC_INVALID", "medium",
         "The credit code {credit_code} on {documents[0]} fails its check characters (GB 32100 and GB 11714).",
         "Every 统一社会信用代码 carries two check characters: one over the whole code (GB 32100) and one over the "
         "organisation code inside it (GB 11714). A code that fails them was typed by hand or invented.",
         "An issuer's code passes both checks.",
         "A typing error by the employer's HR; an OCR misread that no single repair makes valid."),
    Code("INCOME_FLUCTUATION", "medium",
         "The monthly salary changed by {change} from {previous_month} ({previous_amount}) to {month} ({amount}), "
         "more than {threshold}.",
         "Lenders treat a month-to-month salary change above 30% (|m_t − m_t−1| / m_t−1, configurable; exactly 30% "
         "is not above) as a risk signal, and a single raised month is also what an edited statement shows. The "
         "series sums the salary credits of each month, recognised by 摘要 (工资, 薪资 …) or a company paying "
         "monthly; bonuses (奖金, 年终奖, 绩效, 补发) and reimbursements stay out and are listed beside it.",
         "Salary from one employer on a regular day, changing by a few percent; bonuses labelled as bonuses.",
         "A raise or a new job; a bonus paid under the salary's own wording; unpaid leave."),
    Code("INCOME_MONTH_MISSING", "medium",
         "No salary credit in {months}, inside the months the statements cover ({covered}).",
         "A month without salary in the middle of a statement means time without this income, or rows removed "
         "from the statement. A salary paid a few days early or late across a month end still counts for its "
         "own month.",
         "One salary every month the statement covers, from the first one on.",
         "Unpaid leave; salary paid to another account that month; a statement period that ends just before "
         "the pay day."),
    Code("INCOME_STATED_MISMATCH", "medium",
         "The proof states a monthly income of {stated} ({basis}) but the statements show {observed} a month "
         "({observed_with_bonuses} with bonuses); expected {allowed}.",
         "An income proof that overstates pay is the most common fraud in consumer credit. The statements show "
         "net salary: a pre-tax (税前) figure allows net pay of 65% to 100% of it (social insurance, housing fund "
         "and tax come off), an after-tax (税后) figure itself; the configured tolerance widens that band.",
         "The stated income and the salary credits tell the same story once tax and contributions are allowed "
         "for.",
         "A proof that counts allowances paid in cash or to another account; a very high earner's tax; a recent "
         "raise with few months at the new pay."),
    Code("SI_BASE_LOW", "medium",
         "The contribution base {base} is below 60% of {city}'s average wage ({floor} of {average}) in {months}.",
         "Contribution bases lie between 60% and 300% of the city's average wage; a base below the band says the "
         "declared pay is low or the record is odd. The averages are data with their sources "
         "(checks/data/average_wages.toml); a city not in the table is reported as not compared.",
         "A base inside the city's band, usually close to the gross pay the proof states.",
         "Cities that phase the 60% floor in (Beijing's legal floor lies below it); part-time or flexible "
         "employment; an average not yet updated for the new year."),
    Code("SI_GAP", "medium",
         "No contributions for {months} ({first} to {latest} on record).",
         "Months without contributions mean months without this employment, or since the latest one, a job "
         "that has ended. 补缴 (back-payment) rows close their month's gap; the two months before the print date "
         "may not be posted yet.",
         "One contribution every month up to a month or two before printing.",
         "A record printed for an earlier query period; a change of job with a month between."),
    Code("SI_EMPLOYER_CHANGED", "medium",
         "The contributing employer changed in {month}: {before} → {after}.",
         "A new job in the recent months (the last six of the record) is a risk lenders weigh, and it explains "
         "a proof or a salary payer that differs from older records.",
         "One employer through the recent months.",
         "A company renamed, or merged into its group; the employer's name written differently between months."),
    Code("SI_HOUSING_FUND_SHORT", "low",
         "Housing-fund deposits run for {months} continuous month(s) up to {latest}, fewer than {required}.",
         "Lenders like at least 12 continuous months of housing-fund deposits as a sign of stable employment. "
         "补缴 rows fill their month.",
         "Twelve or more consecutive months of deposits up to the latest one.",
         "A recent job change; an employer that joined the housing fund late; a record printed for fewer "
         "months."),
    Code("IDENTITY_MISMATCH", "high",
         "The {what} on {documents[1]} ({found}) differs from {documents[0]} ({expected}).",
         "Every document of an application belongs to one person. A statement or record of somebody else, or a "
         "proof written for another person, shows as a name or ID number that disagrees with the other documents. "
         "Masked values (张*, 3101**********1234) match whatever the other document shows there.",
         "The same name and 身份证号 on every document.",
         "Traditional and simplified spellings (normalised away); an OCR misread of a name on a photo."),
    Code("IDENTITY_ID_INVALID", "high",
         "The ID number {number} on {documents[0]} is not a valid 身份证号 (GB 11643).",
         "A 身份证号 holds an area code, a birth date and an ISO 7064 check digit. A number that fails them was "
         "typed by hand: no issuer prints one. Medium on OCR'd pages.",
         "A number whose check digit, birth date and area code hold.",
         "An OCR misread that no single repair makes valid (medium)."),
    Code("IDENTITY_AGE", "medium",
         "The ID number gives an age of {age} on {on}, outside {limits}.",
         "Lenders lend to applicants from 18 to 60 (some to 65); the age comes from the birth date in the "
         "身份证号, on the latest date a document of the bundle was issued.",
         "An applicant of working age.",
         "A lender whose limits differ."),
    Code("IDENTITY_CARD_CHECKSUM", "low",
         "The card number {number} on {documents[0]} fails the Luhn check.",
         "Bank card numbers carry a Luhn check digit; a number that fails it may have been typed by hand.",
         "A debit card number that passes Luhn.",
         "Corporate accounts and passbooks, whose numbers often have no Luhn digit: a soft signal only."),
    Code("INPUT_TOO_MANY_RENDERED_PIXELS", "high",
         "Checking the document would render and decode {pixels} pixels (pages at {dpi} dpi, images as stored), "
         "above the limit of {limit}.",
         "Every page is rendered and every image decoded to be checked; a small file can declare huge pages or "
         "many large images and exhaust a worker's memory before any single image limit is reached.",
         "An A4 page at 200 dpi is about 3.9 megapixels; a statement of a few pages with a seal image stays far "
         "below the limit.",
         "Very long scanned documents or poster-sized pages: split them, or raise limits.max_total_pixels."),
    # --- content-stream writing -----------------------------------------------------------------
    Code("PDF_TEXT_OPERATOR_ODD", "medium",
         "This text is written as {form}, where the page's other {peers} figures in its font and size are "
         "written as {usual}: it was written by something other than the issuer's engine. It reads: {text}.",
         "An issuer's report engine writes every figure of a table the same way: all as `Tj` strings, or all "
         "as `TJ` arrays of one shape. An editor that retypes a figure inside the page's content stream, in the "
         "issuer's own font subset and at the old place, writes its operator its own way: a `TJ` array among "
         "`Tj` strings, an array that opens with a position offset (to keep a longer figure's right edge), two "
         "offsets in a row. This is what is left of a careful edit whose later balances and totals were "
         "repaired and whose file was saved whole. Figures are compared only with figures of the same font and "
         "size on the same page, and only when at least 8 of them, and two thirds or more, share one form.",
         "One operator form for every figure of a font and size on the page.",
         "An engine that kerns some figures (a `TJ` array where a kerning pair occurs, such as 11 in some "
         "fonts) and writes the rest as plain strings; a page assembled from pieces by different engines."),
    Code("PDF_PAGE_STREAMS_MIXED", "medium",
         "The pages' content streams are written in {styles} different styles (pages {pages}): some pages were "
         "written again by another program ({difference}).",
         "Every writer separates the tokens of a content stream its own way: a line feed or a space after an "
         "operator, a space inside array brackets or none, operators run together on one line. An issuer's "
         "engine writes every page of a document the same way; an editor that changes a page writes that whole "
         "page again in its own style, even when the change itself (a figure retyped in the issuer's font at "
         "the old place) leaves no other trace, and a rewrite of the file keeps each page's stream as it is. "
         "Only documents whose pages share their font objects (made in one run of one engine) are judged. The "
         "finding names the pages of each style; which of them is the issuer's is not decided here.",
         "One style on every page.",
         "A document merged from files of different origins (a cover page, an appended letter); a page "
         "stamped or watermarked afterwards by a tool that rewrote its content."),
    Code("PDF_PAGES_LIBRARY_WRITTEN", "medium",
         "Pages {pages} of {of} are written in the spacing of a PDF library that rewrites content streams, "
         "while its Producer is {producer}: their content was rewritten by a program after it was made.",
         "Libraries used to edit PDFs in code (pypdf, pikepdf and qpdf) parse a page's content stream and write "
         "it back token by token, with a space after every '[' and before every ']' (`[ (ab) -12 (c) ] TJ`). "
         "Report engines write their pages directly from a layout, and none seen so far spaces its brackets "
         "that way. Editing a figure in code leaves this spacing on every page it touched, even when the "
         "figure was retyped in the issuer's own font, every dependent balance was repaired, every page was "
         "edited (so no page is left in the issuer's style to compare with) and the file was saved whole with "
         "the issuer's metadata. Saving a file again with these libraries keeps its page streams as they "
         "were, so a plain re-save does not show this.",
         "Pages in the spacing of the engine the Producer names. reportlab, fpdf2, WeasyPrint and PyMuPDF "
         "write no space inside array brackets, nor does any of 111 real-world PDFs of many producers checked "
         "except one that pypdf itself wrote.",
         "An issuer that stamps a watermark or page numbers with one of these libraries after export; files "
         "whose Producer or Creator names the library itself are not reported."),
    # --- reuse across applicants (worker/reuse.py) ------------------------------------------------
    Code("REUSE_SAME_FILE", "high",
         "The same file was submitted earlier for another applicant ({applicants}; job {jobs}).{note}",
         "Fraud rings recycle one genuine document for several applicants. A byte-identical file under another "
         "applicant's name is that document, whatever it says.",
         "A file submitted once, or again only by the same applicant.",
         "A re-run by the same person under another applicant id; a document with no applicant identity on one "
         "side (the finding says so)."),
    Code("REUSE_TRANSACTIONS", "high",
         "{count} earlier statement(s) of other applicants ({applicants}; job {jobs}) list the same transaction "
         "rows (dates, amounts, counterparties; overlap {similarity}).{note}",
         "A statement belongs to one account holder: its movements are unique to that person. The same rows under "
         "another holder name are one statement edited for several applicants.",
         "Rows of one person only; a salary credit shared with a colleague is one row among dozens.",
         "Joint accounts or spouses submitting the same account's statement; a family paying one another "
         "(a handful of rows, below the threshold)."),
    Code("REUSE_TEMPLATE_FILLED", "high",
         "{count} earlier document(s) of other applicants ({applicants}; job {jobs}) carry the same filled-in "
         "figures (dates, amounts, codes) under another name (overlap {similarity}).{note}",
         "A letter whose employer, position, hire date, income and issue date all equal another applicant's, with "
         "only the name and ID number changed, is one proof reused with names swapped. The issuer's boilerplate "
         "and the identity fields are left out of the comparison.",
         "Two colleagues' letters share the employer's code and phone at most, not the hire date and income.",
         "Colleagues hired the same day at the same pay and given letters the same day; a batch of identical "
         "letters printed by one HR department."),
    Code("REUSE_SAME_PAGE_IMAGE", "high",
         "A page looks the same as a page submitted earlier for another applicant ({applicants}; job {jobs}; "
         "similarity {similarity}).{note}",
         "The same page image (after recompression, rescanning or resizing) with the same figures, under another "
         "applicant: a screenshot or scan recycled from someone else.",
         "Every customer's page differs in its rows and figures, even on one bank's layout.",
         "A page that is almost all template (a cover page, a blank form): matched only when its figures agree too."),
    Code("REUSE_SEAL", "high",
         "The seal impression matches a seal on {count} earlier document(s) of other applicants ({applicants}; "
         "job {jobs}; similarity {similarity}).{note}",
         "A stamped seal is never inked twice the same way; the same impression on letters of several applicants is "
         "one seal image pasted. High when the earlier letter names another employer; low when it names the same "
         "one, since a company's electronic seal image legitimately repeats on all its letters.",
         "A hand-stamped seal, different in its ink on every letter.",
         "Electronic seals, one image per issuer (low severity when the issuer is the same)."),
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
