package uitest

import (
	"bytes"
	"fmt"
	"os"
	"regexp"
)

// pageObject matches a page object's type entry (/Type /Page, not /Pages) in an uncompressed
// object, as Chromium writes them.
var pageObject = regexp.MustCompile(`/Type\s*/Page[^s]`)

// PDFPages returns how many pages the PDF file at path has: a check that a printed file is a PDF
// with something in it, not a parser. It returns an error for a missing file or one that does not
// start as a PDF.
func PDFPages(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	if !bytes.HasPrefix(b, []byte("%PDF-")) {
		return 0, fmt.Errorf("%s is not a PDF file", path)
	}
	return len(pageObject.FindAll(b, -1)), nil
}
