package logx

import "time"

// WriteAt writes a record at time t whatever l's level: the tests compare
// lines with slog's at a fixed time.
func (l *Logger) WriteAt(t time.Time, level Level, msg string, args ...any) {
	l.write(t, level, msg, args)
}
