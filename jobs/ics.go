package jobs

import (
	ics "github.com/arran4/golang-ical"

	"github.com/madoguchi/madoguchi/booking"
)

// RenderICS writes the visit as an iCalendar object (RFC 5545) with one VEVENT: times in UTC,
// the reservation as UID so that a change or a cancellation updates the same calendar entry, and
// SEQUENCE growing with every change. It returns the text and the iTIP method (PUBLISH, or
// CANCEL for a cancelled visit).
func RenderICS(e *booking.MailEvent) ([]byte, string, error) {
	cal := ics.NewCalendarFor("madoguchi")
	method := ics.MethodPublish
	if e.Cancelled {
		method = ics.MethodCancel
	}
	cal.SetMethod(method)
	cal.SetCalscale("GREGORIAN")
	ev := cal.AddEvent(e.UID)
	ev.SetDtStampTime(e.Stamp)
	ev.SetSequence(e.Sequence)
	ev.SetStartAt(e.Start)
	ev.SetEndAt(e.End)
	ev.SetSummary(e.Summary)
	ev.SetLocation(e.Location)
	ev.SetDescription(e.Description)
	if e.URL != "" {
		ev.SetURL(e.URL)
	}
	if e.Cancelled {
		ev.SetStatus(ics.ObjectStatusCancelled)
	} else {
		ev.SetStatus(ics.ObjectStatusConfirmed)
	}
	return []byte(cal.Serialize(ics.WithNewLineWindows)), string(method), nil // RFC 5545: CRLF
}
