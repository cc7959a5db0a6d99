package jobs

import (
	ics "github.com/arran4/golang-ical"

	"github.com/madoguchi/madoguchi/booking"
)

// RenderICS writes the visit as an iCalendar object (RFC 5545) with one VEVENT, as an iTIP
// message (RFC 5546): METHOD:REQUEST for a booking, a change and a reminder, METHOD:CANCEL for
// a cancellation. Both carry the ORGANIZER (the city, organizerName <organizer>: the mail's
// From) and the ATTENDEE (the citizen, attendee: the mail's To) with RSVP=FALSE, since no reply
// is expected; a calendar program drops the entry of a CANCEL only when both are there. Times
// are in UTC; the reservation is the UID, so a change or a cancellation updates the same entry,
// and SEQUENCE grows with every change and the cancellation (booking's MailEvent.Sequence). It
// returns the text and the method.
func RenderICS(e *booking.MailEvent, organizerName, organizer, attendee string) ([]byte, string, error) {
	cal := ics.NewCalendarFor("madoguchi")
	method := ics.MethodRequest
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
	ev.SetOrganizer(organizer, ics.WithCN(organizerName))
	params := []ics.PropertyParameter{
		&ics.KeyValues{Key: string(ics.ParameterCutype), Value: []string{string(ics.CalendarUserTypeIndividual)}},
		&ics.KeyValues{Key: string(ics.ParameterRole), Value: []string{string(ics.ParticipationRoleReqParticipant)}},
		&ics.KeyValues{Key: string(ics.ParameterRsvp), Value: []string{"FALSE"}},
	}
	if e.Cancelled {
		ev.SetStatus(ics.ObjectStatusCancelled)
	} else {
		ev.SetStatus(ics.ObjectStatusConfirmed)
		// The citizen made the booking: it is theirs already, nothing to accept.
		params = append(params, &ics.KeyValues{Key: string(ics.ParameterParticipationStatus), Value: []string{string(ics.ParticipationStatusAccepted)}})
	}
	ev.AddAttendee(attendee, params...)
	return []byte(cal.Serialize(ics.WithNewLineWindows)), string(method), nil // RFC 5545: CRLF
}
