// Package mailsink is a small SMTP server that accepts every message and keeps it: in memory
// and, when a directory is given, as one .eml file per message. `madoguchi demo` runs it on
// 127.0.0.1:1025 so that demo mail can be read in .demo/mail/, and the tests use it as the real
// SMTP server the worker talks to.
package mailsink

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"
)

// Message is one received message.
type Message struct {
	From string
	To   []string
	Data []byte // the message as received (headers and body, CRLF line ends)
	At   time.Time
}

// Sink is a running SMTP sink.
type Sink struct {
	srv *smtp.Server
	ln  net.Listener
	dir string

	// RejectRcpt, when set, is asked about every recipient; a non-nil error (e.g. an
	// *smtp.SMTPError with code 550 or 451) is the server's reply to RCPT TO.
	RejectRcpt func(addr string) error

	mu   sync.Mutex
	msgs []Message
	seq  atomic.Int64
	wait chan struct{}
}

// Start listens on addr (e.g. "127.0.0.1:1025", or "127.0.0.1:0" for any free port) and serves
// until Close. dir, when not empty, receives each message as <time>-<n>.eml.
func Start(addr, dir string) (*Sink, error) {
	if dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &Sink{ln: ln, dir: dir, wait: make(chan struct{})}
	s.srv = smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &session{sink: s}, nil }))
	s.srv.Domain = "mailsink.localhost"
	s.srv.MaxMessageBytes = 10 << 20
	s.srv.MaxRecipients = 50
	s.srv.ReadTimeout = time.Minute
	s.srv.WriteTimeout = time.Minute
	s.srv.EnableSMTPUTF8 = true
	s.srv.AllowInsecureAuth = true
	go s.srv.Serve(ln) //nolint:errcheck // returns on Close
	return s, nil
}

// Addr is the address the sink listens on.
func (s *Sink) Addr() string { return s.ln.Addr().String() }

// Close stops the server and drops open connections.
func (s *Sink) Close() error {
	_ = s.ln.Close() // Serve may not have registered the listener yet
	return s.srv.Close()
}

// Messages returns a copy of every message received so far.
func (s *Sink) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// Count returns how many messages arrived.
func (s *Sink) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.msgs)
}

// Wait blocks until at least n messages arrived or the timeout passed, and reports whether they
// did.
func (s *Sink) Wait(n int, timeout time.Duration) bool {
	deadline := time.After(timeout)
	for {
		s.mu.Lock()
		got, ch := len(s.msgs), s.wait
		s.mu.Unlock()
		if got >= n {
			return true
		}
		select {
		case <-ch:
		case <-deadline:
			return false
		}
	}
}

func (s *Sink) add(m Message) error {
	if s.dir != "" {
		name := fmt.Sprintf("%s-%06d.eml", m.At.UTC().Format("20060102T150405.000Z"), s.seq.Add(1))
		if err := os.WriteFile(filepath.Join(s.dir, name), m.Data, 0o644); err != nil {
			return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "cannot store message"}
		}
	}
	s.mu.Lock()
	s.msgs = append(s.msgs, m)
	close(s.wait)
	s.wait = make(chan struct{})
	s.mu.Unlock()
	return nil
}

type session struct {
	sink *Sink
	from string
	to   []string
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	ss.from = from
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if f := ss.sink.RejectRcpt; f != nil {
		if err := f(to); err != nil {
			return err
		}
	}
	ss.to = append(ss.to, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	if len(ss.to) == 0 {
		return errors.New("no recipients")
	}
	var b bytes.Buffer
	if _, err := io.Copy(&b, r); err != nil {
		return err
	}
	return ss.sink.add(Message{From: ss.from, To: append([]string(nil), ss.to...), Data: b.Bytes(), At: time.Now()})
}

func (ss *session) Reset() { ss.from, ss.to = "", nil }

func (ss *session) Logout() error { return nil }
