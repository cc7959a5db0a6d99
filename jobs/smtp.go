package jobs

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/wneessen/go-mail"
	"github.com/wneessen/go-mail/smtp"
)

// Mailer delivers one message.
type Mailer interface {
	Send(ctx context.Context, m *mail.Msg) error
}

// SMTPMailer delivers through one SMTP server and keeps a few connections open between messages
// (a burst of reminders does not pay a TCP and TLS handshake per mail). It is safe for concurrent
// use.
type SMTPMailer struct {
	client  *mail.Client
	maxIdle int
	idleFor time.Duration

	mu   sync.Mutex
	idle []idleConn
}

type idleConn struct {
	c     *smtp.Client
	since time.Time
}

// NewSMTPMailer parses MADOGUCHI_SMTP_URL: smtp://[user:pass@]host:port (STARTTLS when the
// server offers it; with ?starttls=required no mail goes out unless the connection is upgraded to
// TLS) or smtps://[user:pass@]host:port (implicit TLS). Credentials, when given,
// are used with the best mechanism the server offers.
func NewSMTPMailer(rawURL string) (*SMTPMailer, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, errors.New("MADOGUCHI_SMTP_URL: not a URL")
	}
	port, err := strconv.Atoi(u.Port())
	if err != nil || u.Hostname() == "" {
		return nil, errors.New("MADOGUCHI_SMTP_URL: want smtp://host:port or smtps://host:port")
	}
	opts := []mail.Option{mail.WithPort(port), mail.WithTimeout(30 * time.Second)}
	switch u.Scheme {
	case "smtp":
		switch u.Query().Get("starttls") {
		case "required":
			opts = append(opts, mail.WithTLSPortPolicy(mail.TLSMandatory))
		case "":
			opts = append(opts, mail.WithTLSPortPolicy(mail.TLSOpportunistic))
		default:
			return nil, errors.New("MADOGUCHI_SMTP_URL: starttls= takes only required")
		}
	case "smtps":
		opts = append(opts, mail.WithSSL())
	default:
		return nil, errors.New("MADOGUCHI_SMTP_URL: scheme must be smtp or smtps")
	}
	if u.User != nil && u.User.Username() != "" {
		pass, _ := u.User.Password()
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthAutoDiscover), mail.WithUsername(u.User.Username()), mail.WithPassword(pass))
	}
	c, err := mail.NewClient(u.Hostname(), opts...)
	if err != nil {
		return nil, fmt.Errorf("MADOGUCHI_SMTP_URL: %w", err)
	}
	return &SMTPMailer{client: c, maxIdle: 8, idleFor: 30 * time.Second}, nil
}

// Send delivers m. A kept connection that went stale is replaced by a new one transparently.
func (s *SMTPMailer) Send(ctx context.Context, m *mail.Msg) error {
	for {
		c, pooled := s.get()
		if c == nil {
			var err error
			if c, err = s.client.DialToSMTPClientWithContext(ctx); err != nil {
				return fmt.Errorf("connect to SMTP server: %w", err)
			}
		}
		err := s.client.SendWithSMTPClient(c, m)
		var se *mail.SendError
		if err != nil && pooled && errors.As(err, &se) && se.Reason == mail.ErrConnCheck {
			_ = c.Close()
			continue // the server dropped the kept connection: dial afresh
		}
		if err != nil {
			// After an error the session state is unknown; never reuse it.
			_ = s.client.CloseWithSMTPClient(c)
			_ = c.Close()
			return err
		}
		s.put(c)
		return nil
	}
}

// Close ends the kept connections.
func (s *SMTPMailer) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ic := range s.idle {
		_ = s.client.CloseWithSMTPClient(ic.c)
	}
	s.idle = nil
	return nil
}

func (s *SMTPMailer) get() (*smtp.Client, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(s.idle) > 0 {
		ic := s.idle[len(s.idle)-1]
		s.idle = s.idle[:len(s.idle)-1]
		if time.Since(ic.since) < s.idleFor {
			return ic.c, true
		}
		go s.client.CloseWithSMTPClient(ic.c) //nolint:errcheck // a stale connection; QUIT is a courtesy
	}
	return nil, false
}

func (s *SMTPMailer) put(c *smtp.Client) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.idle) >= s.maxIdle {
		go s.client.CloseWithSMTPClient(c) //nolint:errcheck // enough kept connections
		return
	}
	s.idle = append(s.idle, idleConn{c: c, since: time.Now()})
}

// IsPermanent reports whether an SMTP error is a permanent refusal (a 5xx reply): retrying
// would not help. Connection failures, timeouts and 4xx replies are temporary.
func IsPermanent(err error) bool {
	var se *mail.SendError
	if !errors.As(err, &se) {
		return false
	}
	code := se.ErrorCode()
	return code >= 500 && code <= 599
}
