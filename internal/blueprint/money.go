package blueprint

import (
	"fmt"
	"math"
	"strconv"
)

// Money is an amount in cents of the price table's currency. A cost is
// rounded to the cent once, where it is computed (half away from zero), and
// a total is the sum of its rounded parts, so the table, the data source,
// the reservation's split and the CLI all show the same figure, and a total
// always equals the sum of its lines.
type Money int64

// Cents rounds an amount to the cent.
func Cents(amount float64) Money { return Money(math.Round(amount * 100)) }

// Float is the amount in currency units, as attributes carry it.
func (m Money) Float() float64 { return float64(m) / 100 }

// String writes the amount with two decimals, exactly ("390.92").
func (m Money) String() string {
	sign, c := "", int64(m)
	if c < 0 {
		sign, c = "-", -c
	}
	return fmt.Sprintf("%s%d.%02d", sign, c/100, c%100)
}

// MarshalJSON writes the amount as a number in currency units.
func (m Money) MarshalJSON() ([]byte, error) { return []byte(m.String()), nil }

// UnmarshalJSON reads a number in currency units.
func (m *Money) UnmarshalJSON(b []byte) error {
	v, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("money: %w", err)
	}
	*m = Cents(v)
	return nil
}
