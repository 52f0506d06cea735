"""Scanning the files a message shares: download, identify, extract text, detect.

``scanner.FileScanner`` is what the detection handler calls. The pieces:

- ``download``: bounded, authenticated download of ``url_private_download``;
- ``sniff``: the real type from the first bytes, never the name;
- ``extract``: text per page (text layer, OCR, DOCX, XLSX, text files), run in a
  child process (``worker``) with memory and time limits, so a decompression
  bomb, a malformed image or a crash in a native decoder cannot take the
  detection worker down;
- ``ocr``: Tesseract through pytesseract;
- ``limits``: the limits and the ``Unscannable`` outcome.

Nothing here logs or records file content or matched values: only kinds,
counts, ids, types, sizes and pages.
"""
