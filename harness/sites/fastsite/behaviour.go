package main

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"sync"
	"time"
)

// behaviour is harness.sites.protocol.Behaviour: how the site answers at one
// stage. The harness validates it too; the site checks again, as the Python
// site's dataclass does, so a bad command is an error event, never a guess.
type behaviour struct {
	Stage string  `json:"stage"`
	Code  *int    `json:"code"`
	Delay float64 `json:"delay"`
	Text  string  `json:"text"`
	Drop  bool    `json:"drop"`
	TLS   *string `json:"tls"`
}

var stages = map[string]bool{"STARTTLS": true, "MAIL": true, "RCPT": true, "DATA": true}
var tlsMisdeeds = map[string]bool{"stall": true, "abort": true, "bad-cert": true}

func (b *behaviour) check() error {
	if !stages[b.Stage] {
		return fmt.Errorf("stage must be one of STARTTLS, MAIL, RCPT, DATA, not %q", b.Stage)
	}
	if b.Code != nil && (*b.Code < 400 || *b.Code > 599) {
		return fmt.Errorf("a refusal code is 4xx or 5xx, not %d", *b.Code)
	}
	if b.Delay < 0 {
		return fmt.Errorf("delay cannot be negative")
	}
	if b.Drop && (b.Stage != "DATA" || b.Code != nil) {
		return fmt.Errorf("drop applies to the DATA stage only, without a code")
	}
	if b.TLS != nil && (b.Stage != "STARTTLS" || !tlsMisdeeds[*b.TLS]) {
		return fmt.Errorf("tls is one of stall, abort, bad-cert, at STARTTLS only")
	}
	if b.Text == "" {
		b.Text = "refused by the harness"
	}
	return nil
}

func (b *behaviour) delay() time.Duration {
	return time.Duration(b.Delay * float64(time.Second))
}

// state is what the harness told the site: its behaviours and certificates.
type state struct {
	mu         sync.Mutex
	behaviours map[string]*behaviour
	good, bad  *tls.Config
	// Closed when the site stops misbehaving at STARTTLS: stalled handshakes go on.
	healed chan struct{}
}

func newState() *state {
	return &state{behaviours: map[string]*behaviour{}}
}

func (s *state) at(stage string) *behaviour {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.behaviours[stage]
}

// starttls is the STARTTLS behaviour and, for a stall, what closes when
// it is forgotten: read together, so a heal between the two is never missed.
func (s *state) starttls() (*behaviour, <-chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.behaviours["STARTTLS"]
	if b == nil {
		return nil, nil
	}
	if s.healed == nil {
		s.healed = make(chan struct{})
	}
	return b, s.healed
}

func (s *state) contexts() (good, bad *tls.Config) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.good, s.bad
}

func (s *state) forget(stage string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.forgetLocked(stage)
}

func (s *state) forgetLocked(stage string) {
	delete(s.behaviours, stage)
	if stage == "STARTTLS" && s.healed != nil {
		close(s.healed)
		s.healed = nil
	}
}

// apply runs one command from the harness; the caller acknowledges it after.
func (s *state) apply(raw []byte) error {
	var command struct {
		Cmd       string          `json:"cmd"`
		Behaviour json.RawMessage `json:"behaviour"`
		Stage     string          `json:"stage"`
		Good      []string        `json:"good"`
		Bad       []string        `json:"bad"`
	}
	if err := json.Unmarshal(raw, &command); err != nil {
		return err
	}
	switch command.Cmd {
	case "behave":
		var b behaviour
		if err := json.Unmarshal(command.Behaviour, &b); err != nil {
			return err
		}
		if err := b.check(); err != nil {
			return err
		}
		s.mu.Lock()
		s.behaviours[b.Stage] = &b
		s.mu.Unlock()
	case "clear":
		s.mu.Lock()
		for stage := range s.behaviours {
			s.forgetLocked(stage)
		}
		s.mu.Unlock()
	case "forget":
		s.forget(command.Stage)
	case "tls":
		good, err := serverConfig(command.Good)
		if err != nil {
			return err
		}
		bad, err := serverConfig(command.Bad)
		if err != nil {
			return err
		}
		s.mu.Lock()
		s.good, s.bad = good, bad
		s.mu.Unlock()
	default:
		return fmt.Errorf("unknown command %q", command.Cmd)
	}
	return nil
}

// serverConfig is a server TLS configuration from PEM text: [chain, key].
func serverConfig(pem []string) (*tls.Config, error) {
	if len(pem) != 2 {
		return nil, fmt.Errorf("a certificate is [chain, key]")
	}
	pair, err := tls.X509KeyPair([]byte(pem[0]), []byte(pem[1]))
	if err != nil {
		return nil, err
	}
	return &tls.Config{
		Certificates: []tls.Certificate{pair},
		// TLS 1.2, where the site speaks last in a handshake. In TLS 1.3 the sender
		// does (its Finished), and Go's server sends nothing after it (its session
		// tickets go before), so the ACK of that Finished waits on the kernel's delayed
		// ACK (40 ms) at the sender's peer, Toxiproxy; a sender with Nagle's algorithm
		// (Postfix's smtp) holds its first command until then: postfix-hol's one smtp
		// process delivered 20 messages a second instead of 113 (aiosmtpd's OpenSSL
		// sends its tickets after the Finished). No tickets: a resumed handshake ends
		// with the sender's Finished again.
		MaxVersion:             tls.VersionTLS12,
		SessionTicketsDisabled: true,
	}, nil
}
