package main

import (
	"bufio"
	"encoding/json"
	"os"
	"syscall"
	"time"
	"unsafe"
)

// recorder writes events to standard output, one JSON object a line, as
// harness/sites/protocol.py reads them. One writer, fed in the order events
// happen, writes them out together when it has caught up: one write for many
// events under load, each event at once when idle.
type recorder struct {
	site  string
	lines chan entry
}

type entry struct {
	line    []byte
	flushed chan struct{} // a stop: closed once everything before it is written
}

func newRecorder(site string) *recorder {
	r := &recorder{site: site, lines: make(chan entry, 4096)}
	go r.write()
	return r
}

func (r *recorder) write() {
	out := bufio.NewWriterSize(os.Stdout, 64<<10)
	for e := range r.lines {
		if e.line != nil {
			out.Write(e.line)
			out.WriteByte('\n')
		}
		if len(r.lines) == 0 || e.flushed != nil {
			out.Flush()
		}
		if e.flushed != nil {
			close(e.flushed)
		}
	}
}

// emit records one event. The harness stamps every process's events with the
// same clock (CLOCK_MONOTONIC, Python's time.monotonic()), so latencies can be
// taken across processes; Go keeps its monotonic reading private, so the clock
// is read directly.
func (r *recorder) emit(event string, fields map[string]any) {
	fields["event"] = event
	fields["site"] = r.site
	fields["t"] = monotonic()
	fields["wall"] = float64(time.Now().UnixNano()) / 1e9
	line, err := json.Marshal(fields) // map keys sorted, as the Python site writes them
	if err != nil {
		line, _ = json.Marshal(map[string]any{"event": "error", "site": r.site, "message": err.Error()})
	}
	r.lines <- entry{line: line}
}

// stop returns once every event recorded before it is written out.
func (r *recorder) stop() {
	flushed := make(chan struct{})
	r.lines <- entry{flushed: flushed}
	<-flushed
}

const clockMonotonic = 1

func monotonic() float64 {
	var ts syscall.Timespec
	syscall.RawSyscall(syscall.SYS_CLOCK_GETTIME, clockMonotonic, uintptr(unsafe.Pointer(&ts)), 0)
	return float64(ts.Sec) + float64(ts.Nsec)/1e9
}
