// Package termprogress shows a long run's progress on a terminal: the
// importer's rows, the whole-log audit verification's records.
package termprogress

import (
	"fmt"
	"io"
	"time"

	"github.com/schollz/progressbar/v3"
)

// Bar shows a count of items done out of an estimated total; a nil *Bar
// shows nothing.
type Bar struct {
	pb       *progressbar.ProgressBar
	w        io.Writer
	max, cur int64
}

// New counts total items named unit ("rows", "records"; the total is an
// estimate, corrected as it goes); nil when there is no writer or nothing
// to count.
func New(w io.Writer, total int64, desc, unit string) *Bar {
	if w == nil || total <= 0 {
		return nil
	}
	pb := progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(desc),
		progressbar.OptionSetWidth(30),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString(unit),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(200*time.Millisecond),
		progressbar.OptionSetRenderBlankState(true),
		progressbar.OptionShowElapsedTimeOnFinish(),
	)
	return &Bar{pb: pb, w: w, max: total}
}

// Add counts n more items done.
func (b *Bar) Add(n int) {
	if b == nil || n == 0 {
		return
	}
	b.cur += int64(n)
	if b.cur > b.max {
		b.max = b.cur
		b.pb.ChangeMax64(b.max)
	}
	_ = b.pb.Add64(int64(n))
}

// Done ends the bar: full when the run completed, else where it stopped.
func (b *Bar) Done(complete bool) {
	if b == nil {
		return
	}
	if complete {
		if b.cur != b.max && b.cur > 0 {
			b.pb.ChangeMax64(b.cur)
		}
		_ = b.pb.Finish()
	} else {
		_ = b.pb.Exit()
	}
	fmt.Fprintln(b.w)
}
