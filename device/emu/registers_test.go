package emu

import (
	"testing"

	"github.com/pkfreelance/seatgate/device/iso14443"
	"periph.io/x/conn/v3/spi"
)

func TestResetValues(t *testing.T) {
	// MFRC522 data sheet, section 9.3: every register after power-on.
	tests := []struct {
		name string
		reg  byte
		want byte
	}{
		{"CommandReg: RcvOff, Idle", regCommand, 0x20},
		{"ComIEnReg: IRqInv", regComIEn, 0x80},
		{"DivIEnReg", regDivIEn, 0x00},
		{"ComIrqReg: IdleIRq, LoAlertIRq", regComIrq, 0x14},
		{"DivIrqReg", regDivIrq, 0x00},
		{"ErrorReg", regError, 0x00},
		{"Status1Reg: CRCReady, LoAlert", regStatus1, 0x21},
		{"Status2Reg", regStatus2, 0x00},
		{"FIFOLevelReg", regFIFOLevel, 0x00},
		{"WaterLevelReg", regWaterLevel, 0x08},
		{"ControlReg", regControl, 0x10},
		{"BitFramingReg", regBitFraming, 0x00},
		{"CollReg: ValuesAfterColl, CollPosNotValid", regColl, 0xA0},
		{"ModeReg: TxWaitRF, PolMFin, CRC preset FFFF", regMode, 0x3F},
		{"TxModeReg", regTxMode, 0x00},
		{"RxModeReg", regRxMode, 0x00},
		{"TxControlReg: InvTx2RFOn, field off", regTxControl, 0x80},
		{"TxASKReg", regTxASK, 0x00},
		{"TxSelReg", regTxSel, 0x10},
		{"RxSelReg", regRxSel, 0x84},
		{"RxThresholdReg", regRxThreshold, 0x84},
		{"DemodReg", regDemod, 0x4D},
		{"MfTxReg", regMfTx, 0x62},
		{"MfRxReg", regMfRx, 0x00},
		{"SerialSpeedReg", regSerialSpeed, 0xEB},
		{"CRCResultRegH", regCRCResultH, 0xFF},
		{"CRCResultRegL", regCRCResultL, 0xFF},
		{"ModWidthReg", regModWidth, 0x26},
		{"RFCfgReg: 33 dB", regRFCfg, 0x48},
		{"GsNReg", regGsN, 0x88},
		{"CWGsPReg", regCWGsP, 0x20},
		{"ModGsPReg", regModGsP, 0x20},
		{"TModeReg", regTMode, 0x00},
		{"TPrescalerReg", regTPrescaler, 0x00},
		{"TReloadRegH", regTReloadH, 0x00},
		{"TReloadRegL", regTReloadL, 0x00},
		{"TCounterValRegH", regTCounterValH, 0x00},
		{"TCounterValRegL", regTCounterValL, 0x00},
		{"TestSel1Reg", regTestSel1, 0x00},
		{"TestSel2Reg", regTestSel2, 0x00},
		{"TestPinEnReg", regTestPinEn, 0x80},
		{"TestPinValueReg", regTestPinValue, 0x00},
		{"AutoTestReg", regAutoTest, 0x40},
		{"VersionReg: v2.0", regVersion, 0x92},
		{"AnalogTestReg", regAnalogTest, 0x00},
	}
	r := newRig(t, ChipOptions{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := r.read(tt.reg); got != tt.want {
				t.Errorf("got %#02x, want %#02x", got, tt.want)
			}
		})
	}
}

func TestSoftResetRestoresResetValues(t *testing.T) {
	r := newRig(t, ChipOptions{})
	r.write(regTxControl, 0x83)
	r.write(regMode, 0x3D)
	r.write(regComIEn, 0xF7)
	r.write(regFIFOData, 1, 2, 3)
	if !r.chip.FieldOn() {
		t.Fatal("field off after TxControlReg = 83")
	}
	r.write(regCommand, cmdSoftReset)
	if got := r.read(regCommand); got != 0x3F {
		t.Errorf("CommandReg during the reset: got %#02x, want 3F (SoftReset, PowerDown still 1)", got)
	}
	r.clock.Advance(resetTime)
	for _, c := range []struct {
		reg  byte
		want byte
	}{{regCommand, 0x20}, {regTxControl, 0x80}, {regMode, 0x3F}, {regComIEn, 0x80}, {regFIFOLevel, 0}} {
		if got := r.read(c.reg); got != c.want {
			t.Errorf("register %#02x after SoftReset: got %#02x, want %#02x", c.reg, got, c.want)
		}
	}
	if r.chip.FieldOn() {
		t.Error("field still on after SoftReset")
	}
	if got := r.chip.Stats().SoftResets; got != 1 {
		t.Errorf("Stats.SoftResets: got %d, want 1", got)
	}
}

func TestSPIFraming(t *testing.T) {
	const (
		rd   = 0x80
		fifo = regFIFOData << 1
	)
	tests := []struct {
		name    string
		packets []spi.Packet
		want    [][]byte // MISO per packet
	}{
		{
			name: "one read frame reads several registers: addr0 addr1 addr2 00 → X d0 d1 d2",
			packets: []spi.Packet{{
				W: []byte{rd | regComIEn<<1, rd | regWaterLevel<<1, rd | regVersion<<1, 0x00},
				R: make([]byte, 4),
			}},
			want: [][]byte{{0x00, 0x80, 0x08, 0x92}},
		},
		{
			name: "one write frame puts three bytes in the FIFO, one read frame takes them back",
			packets: []spi.Packet{
				{W: []byte{fifo, 0xAA, 0xBB, 0xCC}, R: make([]byte, 4)},
				{W: []byte{rd | fifo, rd | fifo, rd | fifo, rd | regFIFOLevel<<1, 0}, R: make([]byte, 5)},
			},
			want: [][]byte{{0, 0, 0, 0}, {0x00, 0xAA, 0xBB, 0xCC, 0x00}},
		},
		{
			name: "KeepCS joins packets into one frame: address in the first, data in the second",
			packets: []spi.Packet{
				{W: []byte{fifo}, KeepCS: true},
				{W: []byte{0x11, 0x22}},
				{W: []byte{rd | regFIFOLevel<<1}, R: make([]byte, 1), KeepCS: true},
				{W: []byte{rd | fifo}, R: make([]byte, 1), KeepCS: true},
				{W: []byte{rd | fifo, 0}, R: make([]byte, 2)},
			},
			want: [][]byte{nil, nil, {0x00}, {0x02}, {0x11, 0x22}},
		},
		{
			name: "without KeepCS each packet is its own frame: the second byte is an address again",
			packets: []spi.Packet{
				{W: []byte{regWaterLevel << 1, 0x05}},
				{W: []byte{rd | regWaterLevel<<1, 0}, R: make([]byte, 2)},
			},
			want: [][]byte{nil, {0x00, 0x05}},
		},
		{
			name: "the final byte of a read frame is not read: the FIFO keeps its byte",
			packets: []spi.Packet{
				{W: []byte{fifo, 0x42}},
				{W: []byte{rd | fifo, rd | fifo}, R: make([]byte, 2)},
				{W: []byte{rd | regFIFOLevel<<1, 0}, R: make([]byte, 2)},
			},
			want: [][]byte{nil, {0x00, 0x42}, {0x00, 0x00}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, ChipOptions{})
			if err := r.chip.TxPackets(tt.packets); err != nil {
				t.Fatal(err)
			}
			for i, p := range tt.packets {
				if tt.want[i] != nil && !equalBytes(p.R, tt.want[i]) {
					t.Errorf("packet %d MISO: got % x, want % x", i, p.R, tt.want[i])
				}
			}
			if got := r.chip.Stats().Transfers; got != 1 {
				t.Errorf("Stats.Transfers: got %d, want 1 (one TxPackets call)", got)
			}
		})
	}
}

func TestTransferCostsVirtualTime(t *testing.T) {
	clock := NewVirtualClock(t0)
	c := NewChip(clock, ChipOptions{TransferLatency: 50_000, SPIHz: 1_000_000}) // 50 µs, 1 MHz
	if err := c.Tx([]byte{0x80 | regVersion<<1, 0}, make([]byte, 2)); err != nil {
		t.Fatal(err)
	}
	// 50 µs + 2 bytes × 8 µs
	if got, want := clock.Now().Sub(t0), 66*1000; got.Nanoseconds() != int64(want) {
		t.Errorf("clock moved %v, want 66µs", got)
	}
	s := c.Stats()
	if s.Transfers != 1 || s.Packets != 1 || s.Bytes != 2 || s.BusTime.Microseconds() != 66 {
		t.Errorf("Stats: got %+v, want 1 transfer, 1 packet, 2 bytes, 66µs", s)
	}
}

func TestSet1Set2(t *testing.T) {
	tests := []struct {
		name  string
		reg   byte
		start byte // set with a Set write first
		write byte
		want  byte
	}{
		{"ComIrqReg Set1=1 sets the marked bits", regComIrq, 0x00, 0x80 | 0x21, 0x21},
		{"ComIrqReg Set1=1 leaves unmarked bits", regComIrq, 0x14, 0x80 | 0x01, 0x15},
		{"ComIrqReg Set1=0 clears the marked bits", regComIrq, 0x7F, 0x21, 0x5E},
		{"ComIrqReg Set1=0 with 7F clears everything", regComIrq, 0x7F, 0x7F, 0x00},
		{"ComIrqReg write 00 changes nothing", regComIrq, 0x14, 0x00, 0x14},
		{"ComIrqReg Set1 itself reads 0", regComIrq, 0x00, 0x80, 0x00},
		{"DivIrqReg Set2=1 sets CRCIRq", regDivIrq, 0x00, 0x80 | 0x04, 0x04},
		{"DivIrqReg Set2=0 clears CRCIRq", regDivIrq, 0x14, 0x04, 0x10},
		{"DivIrqReg reserved bits stay 0", regDivIrq, 0x00, 0xFF, 0x14},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, ChipOptions{})
			r.write(tt.reg, 0x7F)          // clear all
			r.write(tt.reg, 0x80|tt.start) // set start
			r.write(tt.reg, tt.write)
			if got := r.read(tt.reg); got != tt.want {
				t.Errorf("got %#02x, want %#02x", got, tt.want)
			}
		})
	}
}

func TestFIFO(t *testing.T) {
	t.Run("65th byte sets BufferOvfl and ErrIRq, FlushBuffer clears both level and BufferOvfl", func(t *testing.T) {
		r := newRig(t, ChipOptions{})
		r.write(regFIFOData, make([]byte, 65)...)
		if got := r.read(regFIFOLevel); got != 64 {
			t.Errorf("FIFOLevelReg: got %d, want 64", got)
		}
		if got := r.read(regError); got != errBufferOvfl {
			t.Errorf("ErrorReg: got %#02x, want BufferOvfl", got)
		}
		if got := r.read(regComIrq); got&irqErr == 0 {
			t.Errorf("ComIrqReg: got %#02x, want ErrIRq", got)
		}
		r.write(regFIFOLevel, fifoFlushBuffer)
		if got := r.read(regFIFOLevel); got != 0 {
			t.Errorf("FIFOLevelReg after FlushBuffer: got %d, want 0", got)
		}
		if got := r.read(regError); got != 0 {
			t.Errorf("ErrorReg after FlushBuffer: got %#02x, want 0", got)
		}
	})
	t.Run("HiAlert when at most WaterLevel bytes are free, LoAlert when at most WaterLevel bytes are stored", func(t *testing.T) {
		r := newRig(t, ChipOptions{})
		r.write(regWaterLevel, 4)
		r.write(regComIrq, 0x7F)
		r.write(regFIFOData, make([]byte, 5)...)
		if got := r.read(regStatus1) & (st1HiAlert | st1LoAlert); got != 0 {
			t.Errorf("5 bytes, water level 4: Status1 alerts %#02x, want none", got)
		}
		r.write(regFIFOData, make([]byte, 55)...)
		if got := r.read(regStatus1) & st1HiAlert; got == 0 {
			t.Error("60 bytes, water level 4: HiAlert not set")
		}
		if got := r.read(regComIrq) & irqHiAlert; got == 0 {
			t.Error("HiAlertIRq not latched")
		}
	})
}

func TestCalcCRC(t *testing.T) {
	// HARDWARE-NOTES vectors, and the same through iso14443.CRCA.
	tests := []struct {
		name   string
		preset byte // ModeReg
		data   []byte
		want   [2]byte // CRCResultRegL, CRCResultRegH: the order CRC_A is sent in
	}{
		{"CRC_A(00 00) = A0 1E", 0x3D, []byte{0x00, 0x00}, [2]byte{0xA0, 0x1E}},
		{"CRC_A(12 34) = 26 CF", 0x3D, []byte{0x12, 0x34}, [2]byte{0x26, 0xCF}},
		{"HLTA: CRC_A(50 00) = 57 CD", 0x3D, []byte{0x50, 0x00}, [2]byte{0x57, 0xCD}},
		{"SELECT CL1 of 12345678", 0x3D, append([]byte{0x93, 0x70}, clBCC(uid4, 1)...), iso14443.CRCA(append([]byte{0x93, 0x70}, clBCC(uid4, 1)...))},
		{"CRC-16/ISO-IEC-14443-3-A check value: \"123456789\" = BF05", 0x3D, []byte("123456789"), [2]byte{0x05, 0xBF}},
		{"preset FFFF (the reset value) is CRC-16/MCRF4XX: \"123456789\" = 6F91", 0x3F, []byte("123456789"), [2]byte{0x91, 0x6F}},
		{"preset 0000 over nothing is 0000", 0x3C, nil, [2]byte{0x00, 0x00}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, ChipOptions{})
			r.write(regMode, tt.preset)
			r.write(regDivIrq, 0x04) // clear CRCIRq
			r.write(regFIFOData, tt.data...)
			r.write(regCommand, cmdCalcCRC)
			polls := 0
			for r.read(regDivIrq)&divIrqCRC == 0 {
				if polls++; polls > 100 {
					t.Fatal("no CRCIRq")
				}
			}
			got := [2]byte{r.read(regCRCResultL), r.read(regCRCResultH)}
			if got != tt.want {
				t.Errorf("got % x, want % x", got, tt.want)
			}
			if st := r.read(regStatus1); st&st1CRCReady == 0 {
				t.Errorf("Status1Reg %#02x: CRCReady not set", st)
			}
			if got := r.read(regFIFOLevel); got != 0 {
				t.Errorf("FIFOLevelReg: got %d, want 0: CalcCRC reads the FIFO", got)
			}
			if got := r.read(regCommand) & cmdMask; got != cmdCalcCRC {
				t.Errorf("CommandReg command: got %#x, want CalcCRC: it does not end by itself", got)
			}
		})
	}
}

func TestCalcCRCOkAndReady(t *testing.T) {
	// A frame with its CRC_A appended runs the CRC register to zero: CRCOk.
	r := newRig(t, ChipOptions{})
	r.write(regMode, 0x3D)
	r.write(regFIFOData, 0x50, 0x00, 0x57, 0xCD)
	r.write(regCommand, cmdCalcCRC)
	if st := r.read(regStatus1); st&st1CRCReady != 0 {
		// 4 bytes take 2.36 µs; the read above comes 1.6 µs after the command.
		t.Errorf("Status1Reg %#02x right after CalcCRC: CRCReady set before the bytes were processed", st)
	}
	r.clock.Advance(10_000)
	if st := r.read(regStatus1); st&(st1CRCReady|st1CRCOk) != st1CRCReady|st1CRCOk {
		t.Errorf("Status1Reg %#02x: want CRCReady and CRCOk", st)
	}
}

func TestMemAndRandomID(t *testing.T) {
	r := newRig(t, ChipOptions{})
	in := make([]byte, 25)
	for i := range in {
		in[i] = byte(i + 1)
	}
	r.write(regFIFOData, in...)
	r.write(regCommand, cmdMem) // FIFO → internal buffer
	if got := r.read(regFIFOLevel); got != 0 {
		t.Fatalf("FIFOLevelReg after Mem: got %d, want 0", got)
	}
	r.write(regCommand, cmdMem) // empty FIFO: internal buffer → FIFO
	if got := r.readFIFO(25); !equalBytes(got, in) {
		t.Errorf("Mem round trip: got % x, want % x", got, in)
	}
	if got := r.read(regComIrq) & irqIdle; got == 0 {
		t.Error("Mem did not set IdleIRq when it ended")
	}
	r.write(regCommand, cmdGenerateRandomID)
	r.write(regCommand, cmdMem)
	if got := r.readFIFO(25); equalBytes(got[:10], in[:10]) || !equalBytes(got[10:], in[10:]) {
		t.Errorf("after GenerateRandomID: got % x, want 10 new bytes then the old 15", got)
	}
}

func TestUnknownCommandSetsIdleIRq(t *testing.T) {
	r := newRig(t, ChipOptions{})
	r.write(regComIrq, 0x7F)
	r.write(regCommand, 0x05)
	if got := r.read(regCommand) & cmdMask; got != cmdIdle {
		t.Errorf("command: got %#x, want Idle", got)
	}
	if got := r.read(regComIrq); got&irqIdle == 0 {
		t.Errorf("ComIrqReg %#02x: want IdleIRq", got)
	}
}

func TestPowerDown(t *testing.T) {
	r := newRig(t, ChipOptions{})
	r.write(regTxControl, 0x83)
	r.write(regCommand, cmdPowerDown|cmdIdle)
	if r.chip.FieldOn() {
		t.Error("field on in soft power-down")
	}
	if got := r.read(regTxControl); got != 0x83 {
		t.Errorf("TxControlReg in soft power-down: got %#02x, want 83 (registers keep their contents)", got)
	}
	r.write(regCommand, cmdIdle)
	if got := r.read(regCommand); got&cmdPowerDown == 0 {
		t.Errorf("CommandReg %#02x while waking: PowerDown should still read 1", got)
	}
	r.clock.Advance(startupTime)
	if got := r.read(regCommand); got&cmdPowerDown != 0 {
		t.Errorf("CommandReg %#02x after wake-up: PowerDown should read 0", got)
	}
	if !r.chip.FieldOn() {
		t.Error("field off after wake-up")
	}
}
