//! The legacy 8259 Programmable Interrupt Controller pair.
//!
//! A PC has two chained 8259s: the master handles IRQ 0..7, the slave IRQ
//! 8..15 and signals the master on IRQ 2. At power-on they deliver IRQs on
//! vectors 8..15, which collide with CPU exceptions (8 is the double fault!),
//! so we remap them to 32..47:
//!
//! ```text
//!   IRQ 0 (PIT) ─┐                    vector 32 = TIMER_VECTOR
//!   ...          ├─ master 0x20/0x21  vectors 32..39
//!   IRQ 2 ◄──────┼── slave 0xA0/0xA1  vectors 40..47
//! ```
//!
//! Only the timer (and the cascade line) are unmasked. A *spurious* IRQ is one
//! the PIC raised and then withdrew; it arrives as the chip's lowest-priority
//! line (7 or 15) with its bit clear in the In-Service Register and must not
//! be acknowledged.

use x86_64::instructions::port::Port;

/// The vector of the master's IRQ 0 (the first vector after the exceptions).
pub const MASTER_OFFSET: u8 = 32;
/// The vector of the slave's IRQ 8.
pub const SLAVE_OFFSET: u8 = MASTER_OFFSET + 8;
/// The PIT's vector (IRQ 0).
pub const TIMER_VECTOR: u8 = MASTER_OFFSET;
/// Where the master's spurious interrupts arrive (IRQ 7).
pub const MASTER_SPURIOUS_VECTOR: u8 = MASTER_OFFSET + 7;
/// Where the slave's spurious interrupts arrive (IRQ 15).
pub const SLAVE_SPURIOUS_VECTOR: u8 = SLAVE_OFFSET + 7;

const MASTER_COMMAND: u16 = 0x20;
const MASTER_DATA: u16 = 0x21;
const SLAVE_COMMAND: u16 = 0xA0;
const SLAVE_DATA: u16 = 0xA1;

const ICW1_INIT_WITH_ICW4: u8 = 0x11;
const ICW4_8086_MODE: u8 = 0x01;
const OCW3_READ_ISR: u8 = 0x0B;
const END_OF_INTERRUPT: u8 = 0x20;

/// Unmasked lines: IRQ 0 (timer) and IRQ 2 (cascade); a set bit masks.
const MASTER_MASK: u8 = !0b0000_0101;
const SLAVE_MASK: u8 = 0xFF;

/// One of the two chips.
#[derive(Clone, Copy, Debug)]
pub enum Chip {
    /// IRQ 0..7, ports 0x20/0x21.
    Master,
    /// IRQ 8..15, ports 0xA0/0xA1, cascaded on the master's IRQ 2.
    Slave,
}

fn write(port: u16, value: u8) {
    // SAFETY: the ports written here belong to the 8259 PICs, which only the
    // kernel programs; the writes have no effect on memory.
    unsafe { Port::new(port).write(value) };
    io_wait();
}

fn read(port: u16) -> u8 {
    // SAFETY: reading a PIC register has no side effect on memory.
    unsafe { Port::new(port).read() }
}

/// Old PICs need a moment between commands; a write to the unused port 0x80
/// takes about a microsecond.
fn io_wait() {
    // SAFETY: port 0x80 is the POST diagnostic port, free to write.
    unsafe { Port::<u8>::new(0x80).write(0) };
}

/// Remap both chips to vectors 32..47 and apply our masks.
pub fn init() {
    write(MASTER_COMMAND, ICW1_INIT_WITH_ICW4);
    write(SLAVE_COMMAND, ICW1_INIT_WITH_ICW4);
    write(MASTER_DATA, MASTER_OFFSET);
    write(SLAVE_DATA, SLAVE_OFFSET);
    write(MASTER_DATA, 0b0000_0100); // the slave sits on IRQ 2
    write(SLAVE_DATA, 2); // the slave's cascade identity
    write(MASTER_DATA, ICW4_8086_MODE);
    write(SLAVE_DATA, ICW4_8086_MODE);
    write(MASTER_DATA, MASTER_MASK);
    write(SLAVE_DATA, SLAVE_MASK);
}

/// Acknowledge IRQ `irq` (0..15) so the PIC can deliver the next one.
pub fn end_of_interrupt(irq: u8) {
    if irq >= 8 {
        write(SLAVE_COMMAND, END_OF_INTERRUPT);
    }
    write(MASTER_COMMAND, END_OF_INTERRUPT);
}

/// Was the lowest-priority IRQ of `chip` spurious (not in service)?
pub fn is_spurious(chip: Chip) -> bool {
    let command = match chip {
        Chip::Master => MASTER_COMMAND,
        Chip::Slave => SLAVE_COMMAND,
    };
    write(command, OCW3_READ_ISR);
    read(command) & 0x80 == 0
}
