package main

// The image has no /usr/share/zoneinfo (it holds the binary, a CA bundle and nothing else), so
// the time-zone database is compiled in: time.LoadLocation works the same on every machine.
import _ "time/tzdata"
