// Command mta-harness-site is a mock remote site for mta-harness, compiled: the
// same line protocol as harness/sites/server.py (events as JSON lines on
// standard output, commands as JSON lines on standard input) and the same SMTP
// answers and misbehaviours, at a fraction of the CPU a message. One process
// serves every connection; --acceptors N lets it use N cores.
//
// Usage: mta-harness-site --name site-a --listen 127.0.0.11:2525
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
)

func main() {
	name := flag.String("name", "", "site name used in events")
	listen := flag.String("listen", "", "HOST:PORT to listen on (loopback)")
	acceptors := flag.Int("acceptors", 1, "threads serving connections (cores the site may use)")
	flag.Parse()
	// One thread unless told: the site shares a small machine's cores with the MTA and
	// the senders, and handing connections between threads cost more than it gave
	// (5000 messages from smtp-source on 2 cores: 1.42 s with one, 1.77 s with two).
	runtime.GOMAXPROCS(max(*acceptors, 1))
	if *name == "" || *listen == "" {
		fmt.Fprintln(os.Stderr, "mta-harness-site: --name and --listen are required")
		os.Exit(2)
	}
	rec := newRecorder(*name)
	listener, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintf(os.Stderr, "mta-harness-site: %s: %v\n", *name, err)
		os.Exit(1)
	}
	s := &site{name: *name, rec: rec, state: newState()}
	go func() {
		for {
			conn, err := listener.Accept()
			if err != nil {
				if ne, ok := err.(net.Error); ok && ne.Timeout() {
					continue
				}
				return
			}
			go s.serve(conn)
		}
	}()
	rec.emit("ready", map[string]any{"listen": *listen})
	go func() { // stopped as the Python site is: SIGTERM or SIGINT ends it at once
		signals := make(chan os.Signal, 1)
		signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
		<-signals
		os.Exit(0)
	}()
	serveCommands(s)
	rec.stop()
}

// serveCommands applies commands until standard input closes (the harness went
// away). Each is acknowledged once applied, so it holds for every later SMTP
// command on any connection.
func serveCommands(s *site) {
	input := bufio.NewScanner(os.Stdin)
	input.Buffer(make([]byte, 1<<16), 1<<24) // certificates arrive on one line
	for input.Scan() {
		line := input.Bytes()
		var seq struct {
			Seq any `json:"seq"`
		}
		err := json.Unmarshal(line, &seq)
		if err == nil {
			err = s.state.apply(line)
		}
		if err != nil {
			text := strings.TrimSpace(string(line))
			s.rec.emit("error", map[string]any{"message": fmt.Sprintf("bad command %q: %v", text, err)})
			continue
		}
		s.rec.emit("ack", map[string]any{"seq": seq.Seq})
	}
}
