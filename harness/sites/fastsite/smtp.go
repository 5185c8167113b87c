package main

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// What the Python site (aiosmtpd) advertises and answers, so an MTA sees the
// same server from either site.
const (
	dataSizeLimit = 33554432
	commandLimit  = 512
	idleTimeout   = 300 * time.Second
)

var (
	// harness/sites/protocol.py: ID_PATTERN and DSN_ACTION.
	idPattern  = regexp.MustCompile(`(?mi)^X-Harness-Id:[ \t]*([A-Za-z0-9.-]+)`)
	dsnAction  = regexp.MustCompile(`(?mi)^Action:[ \t]*([A-Za-z]+)`)
	tlsVersion = map[uint16]string{
		tls.VersionTLS10: "TLSv1", tls.VersionTLS11: "TLSv1.1",
		tls.VersionTLS12: "TLSv1.2", tls.VersionTLS13: "TLSv1.3",
	}
	errTooLong = errors.New("line too long")
)

type site struct {
	name    string
	rec     *recorder
	state   *state
	counter atomic.Int64
}

// session is one SMTP connection.
type session struct {
	site    *site
	conn    net.Conn
	r       *bufio.Reader
	w       *bufio.Writer
	offer   *tls.Config // STARTTLS is offered from the first connection after certificates
	tls     string      // the TLS version mail comes over; "" for plain text
	greeted bool
	from    *string // nil: no MAIL yet
	rcpts   []string
	name    string // numbered at first use, as the Python site numbers its connections
	quit    bool
	carried int
}

func (s *site) serve(conn net.Conn) {
	good, _ := s.state.contexts()
	ss := &session{site: s, conn: conn, r: bufio.NewReader(conn), w: bufio.NewWriter(conn), offer: good}
	defer func() {
		conn.Close()
		// Whether the sender said QUIT first: a message whose connection closed
		// without it may rightly come again (the only evidence excusing a duplicate).
		if ss.name != "" {
			s.rec.emit("closed", map[string]any{"connection": ss.name, "quit": ss.quit})
		}
	}()
	ss.reply(fmt.Sprintf("220 %s mta-harness site", s.name))
	for ss.flush() == nil {
		conn.SetReadDeadline(time.Now().Add(idleTimeout))
		line, err := ss.readLine(commandLimit)
		if errors.Is(err, errTooLong) {
			ss.reply("500 Error: line too long")
			continue
		}
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		if !ss.command(strings.ToUpper(verb), strings.TrimSpace(arg)) {
			return
		}
	}
}

// command answers one command; false ends the connection.
func (ss *session) command(verb, arg string) bool {
	switch verb {
	case "HELO", "EHLO":
		if arg == "" {
			ss.reply("501 Syntax: " + verb + " hostname")
			return true
		}
		ss.reset()
		ss.greeted = true
		if verb == "HELO" {
			ss.reply("250 " + ss.site.name)
			return true
		}
		lines := []string{ss.site.name, fmt.Sprintf("SIZE %d", dataSizeLimit), "8BITMIME", "SMTPUTF8"}
		if ss.offer != nil && ss.tls == "" {
			lines = append(lines, "STARTTLS")
		}
		lines = append(lines, "HELP")
		for i, l := range lines {
			sep := "-"
			if i == len(lines)-1 {
				sep = " "
			}
			ss.reply("250" + sep + l)
		}
	case "MAIL":
		ss.mail(arg)
	case "RCPT":
		ss.rcpt(arg)
	case "DATA":
		return ss.data(arg)
	case "RSET":
		ss.reset()
		ss.reply("250 OK")
	case "NOOP":
		ss.reply("250 OK")
	case "VRFY":
		ss.reply("252 Cannot VRFY user, but will accept message and attempt delivery")
	case "HELP":
		ss.reply("250 Supported commands: DATA EHLO HELO HELP MAIL NOOP QUIT RCPT RSET VRFY")
	case "QUIT":
		ss.quit = true
		ss.reply("221 Bye")
		ss.flush()
		return false
	case "STARTTLS":
		if ss.offer == nil || ss.tls != "" {
			ss.reply(`500 Error: command "STARTTLS" not recognized`)
			return true
		}
		if arg != "" {
			ss.reply("501 Syntax: STARTTLS")
			return true
		}
		return ss.starttls()
	default:
		ss.reply(fmt.Sprintf("500 Error: command %q not recognized", verb))
	}
	return true
}

func (ss *session) mail(arg string) {
	if !ss.greeted {
		ss.reply("503 Error: send HELO first")
		return
	}
	address, params, ok := path(arg, "FROM:")
	if !ok {
		ss.reply("501 Syntax: MAIL FROM: <address>")
		return
	}
	if ss.from != nil {
		ss.reply("503 Error: nested MAIL command")
		return
	}
	for _, p := range params {
		key, value, _ := strings.Cut(strings.ToUpper(p), "=")
		switch key {
		case "SIZE":
			if n, err := strconv.Atoi(value); err != nil || n > dataSizeLimit {
				ss.reply("552 Error: message size exceeds fixed maximum message size")
				return
			}
		case "BODY", "SMTPUTF8":
		default:
			ss.reply("555 MAIL FROM parameters not recognized or not implemented")
			return
		}
	}
	if refusal := ss.misbehave("MAIL", []string{}); refusal != "" {
		ss.reply(refusal)
		return
	}
	ss.from = &address // "<>" kept as given: the null sender
	ss.reply("250 OK")
}

func (ss *session) rcpt(arg string) {
	if !ss.greeted {
		ss.reply("503 Error: send HELO first")
		return
	}
	if ss.from == nil {
		ss.reply("503 Error: need MAIL command")
		return
	}
	address, params, ok := path(arg, "TO:")
	if !ok || address == "<>" {
		ss.reply("501 Syntax: RCPT TO: <address>")
		return
	}
	if len(params) > 0 {
		ss.reply("555 RCPT TO parameters not recognized or not implemented")
		return
	}
	if refusal := ss.misbehave("RCPT", []string{address}); refusal != "" {
		ss.reply(refusal)
		return
	}
	ss.rcpts = append(ss.rcpts, address)
	ss.reply("250 OK")
}

func (ss *session) data(arg string) bool {
	switch {
	case !ss.greeted:
		ss.reply("503 Error: send HELO first")
		return true
	case len(ss.rcpts) == 0:
		ss.reply("503 Error: need RCPT command")
		return true
	case arg != "":
		ss.reply("501 Syntax: DATA")
		return true
	}
	ss.reply("354 End data with <CR><LF>.<CR><LF>")
	if ss.flush() != nil {
		return false
	}
	content, tooBig, err := ss.readData()
	if err != nil {
		return false
	}
	defer ss.reset()
	if tooBig {
		ss.reply("552 Error: Too much mail data")
		return true
	}
	rcpts := append([]string{}, ss.rcpts...)
	if refusal := ss.misbehave("DATA", rcpts); refusal != "" {
		ss.reply(refusal)
		return true
	}
	b := ss.site.state.at("DATA")
	dropped := b != nil && b.Drop
	ss.carried++
	from := *ss.from
	if from == "<>" {
		from = ""
	}
	var tlsField any
	if ss.tls != "" {
		tlsField = ss.tls
	}
	ss.site.rec.emit("message", map[string]any{
		"mail_from":   from,
		"rcpts":       rcpts,
		"harness_ids": matches(idPattern, content, false),
		// A DSN's per-recipient actions: "delayed" is a warning, not a bounce.
		"dsn_actions": matches(dsnAction, content, true),
		"connection":  ss.connection(),
		"seq":         ss.carried,
		"size":        len(content),
		"dropped":     dropped,
		"tls":         tlsField,
	})
	if dropped {
		// The site has the message; the MTA never hears so.
		return false
	}
	ss.reply("250 OK recorded")
	return true
}

// misbehave waits the stage's delay and returns its refusal, "" to answer normally.
func (ss *session) misbehave(stage string, rcpts []string) string {
	b := ss.site.state.at(stage)
	if b == nil {
		return ""
	}
	if b.Delay > 0 {
		ss.flush() // what was answered before goes out before the wait, as aiosmtpd's does
		time.Sleep(b.delay())
	}
	if b.Code == nil {
		return ""
	}
	// With the recipients where the stage knows them: a bounce is only excused by
	// a permanent refusal of that very message.
	ss.site.rec.emit("refused", map[string]any{
		"stage": stage, "code": *b.Code, "rcpts": rcpts, "connection": ss.connection(),
	})
	return fmt.Sprintf("%d %s", *b.Code, b.Text)
}

func (ss *session) starttls() bool {
	b, healed := ss.site.state.starttls()
	config := ss.offer
	if b != nil {
		if b.Code != nil { // TLS refused: the sender may go on in plain text
			ss.reply(ss.misbehave("STARTTLS", []string{}))
			return true
		}
		var misdeed any
		if b.TLS != nil {
			misdeed = *b.TLS
		}
		ss.site.rec.emit("starttls", map[string]any{"misdeed": misdeed, "connection": ss.connection()})
		ss.reply("220 Ready to start TLS")
		if ss.flush() != nil {
			return false
		}
		switch {
		case b.TLS != nil && *b.TLS == "abort":
			// The sender's handshake has begun: reset the connection (linger 0).
			ss.r.ReadByte()
			if tcp, ok := ss.conn.(*net.TCPConn); ok {
				tcp.SetLinger(0)
			}
			return false
		case b.TLS != nil && *b.TLS == "bad-cert":
			_, config = ss.site.state.contexts()
		case b.TLS != nil && *b.TLS == "stall":
			// The handshake waits until the site is healed, as a dead link's data
			// waits in Toxiproxy until its heal.
			<-healed
		default:
			time.Sleep(b.delay())
		}
	} else {
		ss.reply("220 Ready to start TLS")
		if ss.flush() != nil {
			return false
		}
	}
	// Bytes the sender sent after STARTTLS are its handshake: read them through TLS.
	server := tls.Server(&buffered{ss.conn, ss.r}, config)
	if err := server.Handshake(); err != nil {
		return false
	}
	ss.conn = server
	ss.r = bufio.NewReader(server)
	ss.w = bufio.NewWriter(server)
	ss.tls = tlsVersion[server.ConnectionState().Version]
	ss.greeted = false
	ss.reset()
	return true
}

// buffered reads what the session's reader already holds before the connection.
type buffered struct {
	net.Conn
	r *bufio.Reader
}

func (b *buffered) Read(p []byte) (int, error) { return b.r.Read(p) }

func (ss *session) connection() string {
	if ss.name == "" {
		n := ss.site.counter.Add(1)
		ss.name = fmt.Sprintf("%d@%s", n, ss.conn.RemoteAddr())
	}
	return ss.name
}

func (ss *session) reset() {
	ss.from = nil
	ss.rcpts = nil
}

func (ss *session) reply(line string) {
	ss.w.WriteString(line)
	ss.w.WriteString("\r\n")
}

// flush sends what was answered once the sender has nothing more to read from
// us now: pipelined commands are answered together, as a stream server does.
func (ss *session) flush() error {
	if ss.r.Buffered() > 0 {
		return nil
	}
	return ss.w.Flush()
}

// readLine is one command line without its line ending; errTooLong past limit.
func (ss *session) readLine(limit int) (string, error) {
	var line []byte
	for {
		chunk, err := ss.r.ReadSlice('\n')
		if len(line)+len(chunk) <= limit+2 {
			line = append(line, chunk...)
		} else if err == nil || errors.Is(err, bufio.ErrBufferFull) {
			line = line[:0]
			if err == nil {
				return "", errTooLong
			}
			for errors.Is(err, bufio.ErrBufferFull) { // skip to the line's end
				_, err = ss.r.ReadSlice('\n')
			}
			if err != nil {
				return "", err
			}
			return "", errTooLong
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil {
			return "", err
		}
		return strings.TrimRight(string(line), "\r\n"), nil
	}
}

// readData reads a message up to its lone dot, undoing dot-stuffing and keeping
// its line endings: the bytes aiosmtpd's site records.
func (ss *session) readData() (content []byte, tooBig bool, err error) {
	var out bytes.Buffer
	for {
		line, err := ss.r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			err = nil // a long line, in pieces; a piece never ends the message
		} else if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, false, err
		} else if bytes.Equal(line, []byte(".\r\n")) || bytes.Equal(line, []byte(".\n")) {
			return out.Bytes(), tooBig, nil
		} else if line[0] == '.' {
			line = line[1:]
		}
		if out.Len()+len(line) > dataSizeLimit {
			tooBig = true
			continue
		}
		out.Write(line)
	}
}

// matches is each first group of pattern in content, lower-cased if told.
func matches(pattern *regexp.Regexp, content []byte, lower bool) []string {
	found := []string{}
	for _, m := range pattern.FindAllSubmatch(content, -1) {
		s := string(m[1])
		if lower {
			s = strings.ToLower(s)
		}
		found = append(found, s)
	}
	return found
}

// path parses "FROM:<a@b> PARAMS" (or TO:): the address, "<>" for the null one.
func path(arg, prefix string) (string, []string, bool) {
	if len(arg) < len(prefix) || !strings.EqualFold(arg[:len(prefix)], prefix) {
		return "", nil, false
	}
	rest := strings.TrimSpace(arg[len(prefix):])
	var address string
	if strings.HasPrefix(rest, "<") {
		end := strings.IndexByte(rest, '>')
		if end < 0 {
			return "", nil, false
		}
		address, rest = rest[1:end], rest[end+1:]
		if address == "" {
			address = "<>"
		}
	} else {
		address, rest, _ = strings.Cut(rest, " ")
	}
	if address == "" {
		return "", nil, false
	}
	return address, strings.Fields(rest), true
}
