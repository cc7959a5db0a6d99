package ui

import (
	"bytes"
	"io"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	"github.com/madoguchi/madoguchi/booking"
)

// importUploadPath is the one route that may receive a body larger than maxFormBytes.
const importUploadPath = "/admin/imports"

// maxFormBytes is the body limit of every other request, on every host.
const maxFormBytes = 1 << 20

// maxUploadBytes is the card CSV upload's whole request: the file plus room for the form.
const maxUploadBytes = booking.ImportMaxFileBytes + maxFormBytes

// The server streams request bodies (fiber.Config StreamRequestBody, with the multipart pre-parse
// off): before the first handler runs it has read the headers and at most 8 KiB of the body.
// Nothing reads the rest until a handler asks for it, so bodyLimit, the first middleware after
// the request id, decides from the headers alone:
//
//   - a body announced larger than the route's limit is refused with 413 at once; the server
//     closes the connection instead of reading what the client still sends;
//   - a chunked body (no Content-Length) is read here up to the limit, or refused with 413; the
//     card upload wants its length announced (411), as every browser does for a form;
//   - a compressed body (Content-Encoding) is refused with 415: no browser sends one, and
//     inflating it would escape the limit.
//
// Only POST /admin/imports may announce more than maxFormBytes; its multipart body is parsed
// only when the staff guard's CSRF check asks for the form, after the session is checked, and the
// file part goes to a temporary file, not to memory.
func (u *UI) bodyLimit(c *fiber.Ctx) error {
	req := c.Request()
	if len(req.Header.Peek(fiber.HeaderContentEncoding)) > 0 {
		return fiber.ErrUnsupportedMediaType
	}
	upload := c.Method() == fiber.MethodPost && c.Path() == importUploadPath
	limit := maxFormBytes
	if upload {
		limit = maxUploadBytes
	}
	switch n := req.Header.ContentLength(); {
	case n > limit:
		return fiber.ErrRequestEntityTooLarge
	case n == -1 && upload:
		return fiber.ErrLengthRequired
	case n == -1 && req.IsBodyStream():
		body, err := io.ReadAll(io.LimitReader(req.BodyStream(), int64(limit)+1))
		if err != nil {
			return fiber.ErrBadRequest
		}
		if len(body) > limit {
			return fiber.ErrRequestEntityTooLarge
		}
		req.SetBody(body)
	}
	return c.Next()
}

// shortReadAhead is the server's HeaderReceived hook. Before the handlers run, a streaming
// server reads ahead min(8 KiB, Content-Length) bytes of the body, and would wait for them even
// for a body bodyLimit is about to refuse. For a body announced over the route's limit it reads
// ahead one byte, so the 413 comes at once.
func shortReadAhead(h *fasthttp.RequestHeader) fasthttp.RequestConfig {
	n := h.ContentLength()
	if n <= maxFormBytes {
		return fasthttp.RequestConfig{}
	}
	path, _, _ := bytes.Cut(h.RequestURI(), []byte("?"))
	if n <= maxUploadBytes && string(h.Method()) == fiber.MethodPost && string(path) == importUploadPath {
		return fasthttp.RequestConfig{}
	}
	return fasthttp.RequestConfig{MaxRequestBodySize: 1}
}
