package access

import (
	"fmt"
	"time"
)

// Date is a civil date (no time, no zone), as used for plan validity. A
// membership valid from 2026-11-01 until 2026-11-30 covers both days whole,
// in the centre's time zone.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// DateOf returns the date of t in t's own location; convert t with In first
// to get the date somewhere else.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{y, m, d}
}

// ParseDate parses a date written strictly as YYYY-MM-DD.
func ParseDate(s string) (Date, error) {
	shape := len(s) == len("2006-01-02") && s[4] == '-' && s[7] == '-'
	for i := 0; shape && i < len(s); i++ {
		shape = i == 4 || i == 7 || s[i] >= '0' && s[i] <= '9'
	}
	if !shape {
		return Date{}, fmt.Errorf("date %q: want YYYY-MM-DD", s)
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return Date{}, fmt.Errorf("date %q: no such day", s)
	}
	return DateOf(t), nil
}

// String returns the date as YYYY-MM-DD.
func (d Date) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day) }

// IsZero reports whether d is the zero Date.
func (d Date) IsZero() bool { return d == Date{} }

// Valid reports whether d names a real day of the Gregorian calendar.
func (d Date) Valid() bool {
	return d.Year >= 1 && d.Year <= 9999 && DateOf(d.utc()) == d
}

func (d Date) utc() time.Time { return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC) }

// AddDays returns the date n days after d (before it when n is negative).
func (d Date) AddDays(n int) Date { return DateOf(d.utc().AddDate(0, 0, n)) }

// DaysSince returns the number of days from o to d: positive when d is later.
func (d Date) DaysSince(o Date) int {
	return int(d.utc().Sub(o.utc()).Hours() / 24)
}

// Compare returns -1, 0 or +1 as d is before, equal to or after o.
func (d Date) Compare(o Date) int { return d.utc().Compare(o.utc()) }

// Before reports whether d is before o.
func (d Date) Before(o Date) bool { return d.Compare(o) < 0 }

// After reports whether d is after o.
func (d Date) After(o Date) bool { return d.Compare(o) > 0 }

// Weekday returns the day of the week of d.
func (d Date) Weekday() time.Weekday { return d.utc().Weekday() }

// At returns the instant at time of day tod on date d in loc.
func (d Date) At(tod TimeOfDay, loc *time.Location) time.Time {
	return time.Date(d.Year, d.Month, d.Day, tod.Hour(), tod.Minute(), 0, 0, loc)
}

// MarshalText returns YYYY-MM-DD.
func (d Date) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText parses YYYY-MM-DD.
func (d *Date) UnmarshalText(b []byte) error {
	v, err := ParseDate(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// TimeOfDay is a wall-clock time within a day, in whole minutes after
// midnight: 0 is 00:00, 1439 is 23:59.
type TimeOfDay int

// Clock returns the TimeOfDay hh:mm. It does not check its arguments; see
// TimeOfDay.Valid.
func Clock(hour, minute int) TimeOfDay { return TimeOfDay(hour*60 + minute) }

// ParseTimeOfDay parses a time written strictly as HH:MM on a 24-hour clock,
// 00:00 to 23:59.
func ParseTimeOfDay(s string) (TimeOfDay, error) {
	bad := fmt.Errorf("time of day %q: want HH:MM, 00:00 to 23:59", s)
	if len(s) != 5 || s[2] != ':' {
		return 0, bad
	}
	digit := func(i int) (int, bool) { return int(s[i] - '0'), s[i] >= '0' && s[i] <= '9' }
	h1, ok1 := digit(0)
	h2, ok2 := digit(1)
	m1, ok3 := digit(3)
	m2, ok4 := digit(4)
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return 0, bad
	}
	h, m := h1*10+h2, m1*10+m2
	if h > 23 || m > 59 {
		return 0, bad
	}
	return Clock(h, m), nil
}

// Valid reports whether t lies within one day.
func (t TimeOfDay) Valid() bool { return t >= 0 && t < 24*60 }

// Hour returns the hour, 0–23.
func (t TimeOfDay) Hour() int { return int(t) / 60 }

// Minute returns the minute within the hour, 0–59.
func (t TimeOfDay) Minute() int { return int(t) % 60 }

// String returns HH:MM.
func (t TimeOfDay) String() string { return fmt.Sprintf("%02d:%02d", t.Hour(), t.Minute()) }

// MarshalText returns HH:MM.
func (t TimeOfDay) MarshalText() ([]byte, error) {
	if !t.Valid() {
		return nil, fmt.Errorf("time of day %d minutes: out of range", int(t))
	}
	return []byte(t.String()), nil
}

// UnmarshalText parses HH:MM.
func (t *TimeOfDay) UnmarshalText(b []byte) error {
	v, err := ParseTimeOfDay(string(b))
	if err != nil {
		return err
	}
	*t = v
	return nil
}

// TimeOfDayOf returns the time of day of t in t's own location, truncated to
// the minute.
func TimeOfDayOf(t time.Time) TimeOfDay { return Clock(t.Hour(), t.Minute()) }
