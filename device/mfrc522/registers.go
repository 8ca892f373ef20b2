package mfrc522

// Registers (MFRC522 datasheet, section 9).
const (
	regCommand    = 0x01
	regComIEn     = 0x02
	regDivIEn     = 0x03
	regComIrq     = 0x04
	regDivIrq     = 0x05
	regError      = 0x06
	regStatus1    = 0x07
	regStatus2    = 0x08
	regFIFOData   = 0x09
	regFIFOLevel  = 0x0A
	regControl    = 0x0C
	regBitFraming = 0x0D
	regColl       = 0x0E
	regMode       = 0x11
	regTxMode     = 0x12
	regRxMode     = 0x13
	regTxControl  = 0x14
	regTxASK      = 0x15
	regRFCfg      = 0x26
	regTMode      = 0x2A
	regTPrescaler = 0x2B
	regTReloadH   = 0x2C
	regTReloadL   = 0x2D
	regVersion    = 0x37
)

// CommandReg commands and bits.
const (
	cmdIdle       = 0x00
	cmdTransceive = 0x0C
	cmdSoftReset  = 0x0F
	bitPowerDown  = 0x10
)

// ComIrqReg / ComIEnReg bits.
const (
	irqSet1   = 0x80 // write: set (1) or clear (0) the marked bits
	irqInv    = 0x80 // ComIEnReg: IRQ pin active low
	irqTx     = 0x40
	irqRx     = 0x20
	irqIdle   = 0x10
	irqErr    = 0x02
	irqTimer  = 0x01
	irqAllCom = 0x7F
)

// ErrorReg bits.
const (
	errWr       = 0x80
	errTemp     = 0x40
	errBufOvfl  = 0x10
	errColl     = 0x08
	errCRC      = 0x04
	errParity   = 0x02
	errProtocol = 0x01
)

// Other register bits.
const (
	flushBuffer     = 0x80 // FIFOLevelReg
	startSend       = 0x80 // BitFramingReg
	crcEnable       = 0x80 // TxModeReg TxCRCEn, RxModeReg RxCRCEn
	collPosNotValid = 0x20 // CollReg
	valuesAfterColl = 0x80 // CollReg
	modemReceiving  = 0x06 // Status2Reg ModemState
	force100ASK     = 0x40 // TxASKReg
	antennaOn       = 0x03 // TxControlReg Tx1RFEn | Tx2RFEn
	tAuto           = 0x80 // TModeReg
)

// addrRead and addrWrite build the SPI address byte: bit 7 read, bits 6..1
// the register, bit 0 zero.
func addrRead(reg byte) byte  { return 0x80 | reg<<1 }
func addrWrite(reg byte) byte { return reg << 1 }
