#!/usr/bin/env bash
# The libvirt test environment: libvirt 11 + QEMU 10 from bookworm-backports, the local daemon
# (also on qemu+tcp://127.0.0.1), a tiny guest (cloud kernel + busybox initramfs printing GUEST-READY),
# and a second host in a network namespace at qemu+tcp://10.250.0.2/system. Idempotent.
#
#   scripts/libvirt-env.sh [up]     install if missing, start daemons, build the guest, start host2
#   scripts/libvirt-env.sh local    only install and start the local daemon (what `make run` needs)
#   scripts/libvirt-env.sh host2-stop | host2-start   kill / restart host2's libvirtd (tests use this)
#   scripts/libvirt-env.sh debian-template   build (once) the real Debian + cloud-init template, opt-in: not in `up`
set -euo pipefail
cmd="${1:-up}"
STATE=/var/lib/hangar-test            # outside the repository: shared by every checkout on the machine
GUEST=/var/lib/libvirt/images/hangar-guest
H2=$STATE/host2
APT=$STATE/apt
log() { printf '\033[1m[libvirt-env]\033[0m %s\n' "$*" >&2; }
as_root() { if [[ $(id -u) == 0 ]]; then "$@"; else sudo "$@"; fi; }
if [[ $(id -u) != 0 ]]; then exec sudo -E "$0" "$@"; fi

alive() { # pidfile -> is that process running (not a zombie)?
  [[ -f "$1" ]] || return 1
  local pid; pid=$(cat "$1" 2>/dev/null) || return 1
  [[ -r /proc/$pid/stat ]] && ! awk '{exit ($3=="Z")?0:1}' "/proc/$pid/stat"
}

install_packages() {
  local need=()
  command -v libvirtd >/dev/null || need+=(libvirt-daemon-system)
  command -v virsh >/dev/null || need+=(libvirt-clients)
  [[ -f /usr/include/libvirt/libvirt.h ]] || need+=(libvirt-dev)
  command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
  # (No `| grep -q` here: with pipefail, grep quitting early fails the pipeline.)
  [[ -x /bin/busybox && "$(busybox --list 2>/dev/null)" == *acpid* ]] || need+=(busybox-static)
  command -v ip >/dev/null || need+=(iproute2)
  command -v pkg-config >/dev/null || need+=(pkg-config)
  command -v dnsmasq >/dev/null || [[ -x /usr/sbin/dnsmasq ]] || need+=(dnsmasq-base)
  command -v genisoimage >/dev/null || need+=(genisoimage)
  command -v cpio >/dev/null || need+=(cpio)
  command -v xz >/dev/null || need+=(xz-utils)
  # The bootable test template and ISO (syslinux on a FAT partition, isolinux on an ISO), and `cloud-init
  # schema` to validate the user-data Hangar writes.
  command -v syslinux >/dev/null || need+=(syslinux)
  [[ -f /usr/lib/syslinux/mbr/mbr.bin ]] || need+=(syslinux-common)
  [[ -f /usr/lib/ISOLINUX/isolinux.bin ]] || need+=(isolinux)
  command -v mcopy >/dev/null || need+=(mtools)
  command -v mkfs.vfat >/dev/null || need+=(dosfstools)
  command -v sfdisk >/dev/null || need+=(fdisk)
  [[ ${HANGAR_NO_CLOUD_INIT:-} == 1 ]] || command -v cloud-init >/dev/null || need+=(cloud-init)
  # Storage backends beyond `dir`/`fs`, so libvirt can accept (define) every pool type Hangar builds.
  local backends=/usr/lib/x86_64-linux-gnu/libvirt/storage-backend new_backends=0
  for b in logical iscsi rbd zfs; do
    [[ -f $backends/libvirt_storage_backend_$b.so ]] || { need+=("libvirt-daemon-driver-storage-$b"); new_backends=1; }
  done
  (( ${#need[@]} )) || return 0
  log "installing ${need[*]} (bookworm-backports for libvirt and QEMU)"
  apt_install "${need[@]}" qemu-utils
  # A running daemon loads backends only at its start: restart the ones this script started.
  if (( new_backends )); then
    stop_pidfile /run/libvirt/hangar-libvirtd.pid
    stop_host2
  fi
}

# apt-get install with a private configuration (its own sources, lists and cache; libvirt and QEMU pinned to
# bookworm-backports), leaving the machine's own apt configuration untouched.
apt_install() { # packages...
  mkdir -p "$APT/lists/partial" "$APT/cache/archives/partial" "$APT/prefs.d"
  cat > "$APT/sources.list" <<SRC
deb http://deb.debian.org/debian bookworm main
deb http://deb.debian.org/debian bookworm-updates main
deb http://deb.debian.org/debian bookworm-backports main
deb http://deb.debian.org/debian-security bookworm-security main
SRC
  printf 'Package: libvirt* qemu-* seabios libbrlapi*\nPin: release n=bookworm-backports\nPin-Priority: 600\n' \
    > "$APT/prefs.d/hangar.pref"
  local o=(-o "Dir::Etc::sourcelist=$APT/sources.list" -o "Dir::Etc::sourceparts=-"
           -o "Dir::State::Lists=$APT/lists" -o "Dir::Cache=$APT/cache" -o "Dir::Etc::preferencesparts=$APT/prefs.d")
  apt-get "${o[@]}" update -qq
  DEBIAN_FRONTEND=noninteractive apt-get "${o[@]}" install -y -qq --no-install-recommends \
    -o Dpkg::Options::=--force-confold "$@" >/dev/null
}

conf_libvirtd() { # listen_addr host_uuid -> libvirtd.conf text
  cat <<CONF
listen_tls = 0
listen_tcp = 1
auth_tcp = "none"
listen_addr = "$1"
tcp_port = "16509"
keepalive_interval = 5
keepalive_count = 3
host_uuid = "$2"
CONF
}

start_local() {
  mkdir -p /run/libvirt /var/log/libvirt
  if ! alive /run/libvirt/hangar-virtlogd.pid; then
    virtlogd -d -p /run/libvirt/hangar-virtlogd.pid
  fi
  if ! alive /run/libvirt/hangar-libvirtd.pid; then
    conf_libvirtd 127.0.0.1 "8e1c3a52-1b7e-4c7e-9a51-000000000001" > /etc/libvirt/hangar-libvirtd.conf
    log "starting libvirtd"
    libvirtd -d --listen -f /etc/libvirt/hangar-libvirtd.conf -p /run/libvirt/hangar-libvirtd.pid
  fi
  for _ in $(seq 100); do virsh -c qemu:///system version >/dev/null 2>&1 && break; sleep 0.2; done
  virsh -c qemu:///system version >/dev/null 2>&1 || { log "libvirtd did not answer"; return 1; }
}

# A directory pool for test disks (tests create and delete volumes in it).
ensure_pool() {
  local v="virsh -q -c qemu:///system"
  if ! $v pool-info hangar-test >/dev/null 2>&1; then
    mkdir -p /var/lib/libvirt/images/hangar-test
    $v pool-define-as hangar-test dir --target /var/lib/libvirt/images/hangar-test >/dev/null
  fi
  [[ "$($v pool-info hangar-test)" == *running* ]] || $v pool-start hangar-test >/dev/null
}

build_guest() {
  [[ -f $GUEST/vmlinuz && -f $GUEST/initrd.img && $GUEST/initrd.img -nt "$0" ]] && return 0
  log "building the tiny test guest"
  local work; work=$(mktemp -d)
  mkdir -p "$GUEST"
  local pkg; pkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null | awk '/Depends: linux-image-/{print $2; exit}')
  if [[ -z "$pkg" ]]; then apt-get update -qq; pkg=$(apt-cache depends linux-image-cloud-amd64 | awk '/Depends: linux-image-/{print $2; exit}'); fi
  (cd "$work" && apt-get download -qq "$pkg" >/dev/null)
  mkdir -p "$work/k" && dpkg-deb --fsys-tarfile "$work"/*.deb | tar -x -C "$work/k" ./boot ./lib/modules 2>/dev/null || \
    dpkg-deb --fsys-tarfile "$work"/*.deb | tar -x -C "$work/k"
  cp "$work"/k/boot/vmlinuz-* "$GUEST/vmlinuz"
  local kmod; kmod=$(echo "$work"/k/lib/modules/*/kernel)
  local r="$work/root"
  mkdir -p "$r"/{bin,sbin,etc/acpi/PWRF,proc,sys,dev,tmp,var/log,var/run,lib/modules,mnt}
  cp /bin/busybox "$r/bin/busybox"
  local mods="drivers/virtio/virtio_ring drivers/virtio/virtio drivers/virtio/virtio_pci_modern_dev
    drivers/virtio/virtio_pci_legacy_dev drivers/virtio/virtio_pci drivers/block/virtio_blk net/core/failover
    drivers/net/net_failover drivers/net/virtio_net drivers/virtio/virtio_balloon drivers/char/virtio_console
    drivers/acpi/button drivers/input/evdev drivers/scsi/scsi_common drivers/scsi/scsi_mod drivers/scsi/virtio_scsi drivers/cdrom/cdrom
    drivers/scsi/sr_mod lib/crc-t10dif block/t10-pi drivers/scsi/sd_mod fs/isofs/isofs drivers/ata/libata drivers/ata/ata_piix fs/fat/fat fs/fat/vfat
    fs/nls/nls_cp437 fs/nls/nls_ascii fs/nls/nls_utf8 fs/nls/nls_iso8859-1"
  : > "$r/etc/modules"
  for m in $mods; do
    for f in "$kmod/$m.ko" "$kmod/$m.ko.xz"; do
      [[ -f $f ]] || continue
      case $f in *.xz) xz -dc "$f" > "$r/lib/modules/$(basename "$m").ko" ;; *) cp "$f" "$r/lib/modules/" ;; esac
      echo "$(basename "$m")" >> "$r/etc/modules"
    done
  done
  cat > "$r/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
for m in $(cat /etc/modules); do insmod /lib/modules/$m.ko 2>/dev/null; done
exec /bin/busybox init
INIT
  cat > "$r/etc/inittab" <<'TAB'
::sysinit:/etc/rc
ttyS0::respawn:/bin/sh
::shutdown:/bin/sync
TAB
  # Boots three ways: directly from the kernel (hostname tiny), from a disk (the template) or from the CD (the
  # test ISO, which "installs" by copying the template's disk onto a blank disk). Any disk labelled cidata is
  # read like cloud-init's NoCloud source would, and what it says is printed as a SEED line.
  cat > "$r/etc/rc" <<'RC'
#!/bin/sh
hostname tiny
acpid
ip link set lo up
say() { echo "$*" > /dev/console; }
boot=$(sed -n 's/.*hangar_boot=\([a-z]*\).*/\1/p' /proc/cmdline)
say "BOOTED-FROM=${boot:-kernel}"
sleep 1
mkdir -p /seed /cdrom
# Hangar writes the seed as JSON (which is YAML): one `"key": value` per line; older seeds were plain YAML.
unq() { tr -d "'\"," ; }
for d in /dev/vd? /dev/sd? /dev/hd? /dev/sr?; do
  [ -b "$d" ] || continue
  mount -o ro "$d" /seed 2>/dev/null || continue
  if [ -f /seed/meta-data ]; then
    h=$(sed -nE 's/^ *"?local-hostname"?: *//p' /seed/meta-data | unq)
    iid=$(sed -nE 's/^ *"?instance-id"?: *//p' /seed/meta-data | unq)
    u=$(sed -nE 's/^ *(- *)?"?name"?: *//p' /seed/user-data | head -n 1 | unq)
    keys=$(grep -cE "^ *(- *)?['\"]?(ssh-|ecdsa-|sk-)" /seed/user-data)
    pw=no; grep -qE "^ *\"?(passwd|hashed_passwd|chpasswd)\"?:" /seed/user-data && pw=yes
    [ -n "$h" ] && hostname "$h"
    say "SEED hostname=$h user=$u keys=$keys password=$pw instance=$iid dev=$d"
    umount /seed; break
  fi
  umount /seed
done
# A CD drive reports its medium a few seconds after the kernel finds it.
if [ "$boot" = cdrom ]; then
  for _ in 1 2 3 4 5 6 7 8 9 10; do mount -t iso9660 -o ro /dev/sr0 /cdrom 2>/dev/null && break; sleep 1; done
  if [ ! -f /cdrom/disk.img ]; then
    say "INSTALL-SKIPPED no image on the CD: $(mount -t iso9660 -o ro /dev/sr0 /cdrom 2>&1) $(grep -c iso9660 /proc/filesystems) $(ls /dev/sr* /dev/cdrom 2>&1)"
  else
    for d in /dev/vda /dev/sda /dev/hda; do
      [ -b "$d" ] || continue
      if [ "$(dd if=$d bs=512 count=1 2>/dev/null | tr -d '\000' | wc -c)" -eq 0 ]; then
        dd if=/cdrom/disk.img of=$d bs=1M 2>/dev/null && sync && say "INSTALLED to $d"
      else
        say "INSTALL-SKIPPED $d is not blank"
      fi
      break
    done
  fi
fi
say "GUEST-READY hostname=$(hostname)"
# A CPU loop when the kernel command line asks for one (monitoring tests need a busy guest).
if grep -q hangar_burn /proc/cmdline; then ( while :; do :; done ) & say "BURNING"; fi
# Devices coming and going (hot-plugged disks and NICs, a CD inserted): one DEVICES line per change.
( last=""; while :; do
    # Reading the CD drive says whether a medium is in it (and makes the kernel notice a new one).
    cd=""; [ -b /dev/sr0 ] && cd=" cd:$(dd if=/dev/sr0 bs=2048 count=1 2>/dev/null | wc -c)"
    b="$cd"; for d in /sys/block/*; do n=${d##*/}; case $n in loop*|ram*) continue ;; esac; b="$b $n:$(cat $d/size)"; done
    e=""; for d in /sys/class/net/*; do n=${d##*/}; [ "$n" = lo ] || e="$e $n"; done
    now="DEVICES$b |$e"; [ "$now" != "$last" ] && say "$now"; last=$now; sleep 1
  done ) &
RC
  printf '#!/bin/sh\npoweroff -f\n' > "$r/etc/acpi/PWRF/00000080"
  printf 'PWRF PWRF/00000080\n' > "$r/etc/acpid.conf"
  chmod +x "$r/init" "$r/etc/rc" "$r/etc/acpi/PWRF/00000080"
  ln -sf /bin/busybox "$r/sbin/init"
  (cd "$r" && find . | cpio -o -H newc --quiet | gzip -9) > "$GUEST/initrd.img"
  rm -rf "$work"
}

# The bootable template (MBR + syslinux on a FAT partition with the same kernel and initramfs) and a bootable
# ISO (isolinux) that carries the template's raw disk to "install". Rebuilt when the guest is.
build_template() {
  [[ -f $GUEST/template.qcow2 && -f $GUEST/install.iso && $GUEST/template.qcow2 -nt $GUEST/initrd.img ]] && return 0
  log "building the bootable test template and ISO"
  local work; work=$(mktemp -d)
  printf 'DEFAULT hangar\nLABEL hangar\n  KERNEL /vmlinuz\n  INITRD /initrd.img\n  APPEND console=ttyS0 quiet panic=-1 hangar_boot=%s\n' disk > "$work/syslinux.cfg"
  truncate -s 31M "$work/part.img"
  mkfs.vfat -n HANGARBOOT "$work/part.img" >/dev/null
  mcopy -i "$work/part.img" "$GUEST/vmlinuz" "$GUEST/initrd.img" "$work/syslinux.cfg" ::/
  syslinux --install "$work/part.img"
  truncate -s 32M "$work/disk.img"
  printf 'label: dos\nstart=2048, type=c, bootable\n' | sfdisk -q "$work/disk.img"
  dd if="$work/part.img" of="$work/disk.img" bs=1M seek=1 conv=notrunc status=none
  dd if=/usr/lib/syslinux/mbr/mbr.bin of="$work/disk.img" bs=440 count=1 conv=notrunc status=none
  qemu-img convert -O qcow2 "$work/disk.img" "$work/template.qcow2"
  mkdir -p "$work/iso/isolinux"
  cp /usr/lib/ISOLINUX/isolinux.bin /usr/lib/syslinux/modules/bios/ldlinux.c32 "$work/iso/isolinux/"
  cp "$GUEST/vmlinuz" "$GUEST/initrd.img" "$work/disk.img" "$work/iso/"
  sed 's/hangar_boot=disk/hangar_boot=cdrom/' "$work/syslinux.cfg" > "$work/iso/isolinux/isolinux.cfg"
  genisoimage -quiet -o "$work/install.iso" -b isolinux/isolinux.bin -c isolinux/boot.cat -no-emul-boot \
    -boot-load-size 4 -boot-info-table -J -R -V HANGAR_TEST "$work/iso"
  mv "$work/template.qcow2" "$work/install.iso" "$GUEST/"
  rm -rf "$work"
}

# One real Debian 12 template with real cloud-init (opt-in: slow to build, ~40 s to boot under TCG), cached
# outside the repository and rebuilt only when older than DEBIAN_TEMPLATE_STAMP: set the stamp to the current
# date-time when you change the recipe below. Boots from its disk like any Hangar template: MBR, partition 1 FAT
# with syslinux + the Debian kernel and initramfs, partition 2 the ext4 root (/dev/vda2: use virtio disks and
# machine `pc`; the cloud kernel has no AHCI). Nothing is mounted to build it, except what debootstrap mounts in
# its own chroot. After cloud-init's final stage the guest prints on ttyS0 what cloud-init applied, e.g.
#   CLOUD-CHECK hostname=ci-check user=alice keys=1 passwd=L status=done instance=iid-test-1
# (one `user= keys= passwd=` group per user with uid >= 1000 and a home under /home; keys = non-empty lines of
# ~/.ssh/authorized_keys; passwd = the status field of `passwd -S`: P usable password, L locked, NP none).
DEBIAN_TEMPLATE=$STATE/debian-cloud.qcow2
DEBIAN_TEMPLATE_STAMP="2026-12-03 21:44 UTC"

cleanup_tree() { # dir: unmount whatever is still mounted below it, then delete it without crossing mounts
  local m
  while read -r m; do umount -l "$m" 2>/dev/null || true; done \
    < <(findmnt -rn -o TARGET | awk -v p="$1/" 'index($0, p) == 1' | sort -r)
  rm -rf --one-file-system "$1"
}

build_debian_template() {
  if [[ -f $DEBIAN_TEMPLATE ]] && (( $(stat -c %Y "$DEBIAN_TEMPLATE") > $(date -d "$DEBIAN_TEMPLATE_STAMP" +%s) )); then
    return 0
  fi
  command -v debootstrap >/dev/null || apt_install debootstrap
  log "building the Debian cloud-init template (debootstrap, a few minutes)"
  mkdir -p "$STATE"
  local work; work=$(mktemp -d "$STATE/debian-build.XXXXXX")
  # shellcheck disable=SC2064  # expand $work now: it is local
  trap "cleanup_tree '$work'" EXIT
  local r=$work/root
  if ! debootstrap --variant=minbase \
      --include=linux-image-cloud-amd64,systemd-sysv,cloud-init,cloud-guest-utils,sudo,qemu-guest-agent,ifupdown,isc-dhcp-client,openssh-server,python3-cffi-backend \
      bookworm "$r" http://deb.debian.org/debian > "$work/debootstrap.log" 2>&1; then
    tail -n 30 "$work/debootstrap.log" >&2; log "debootstrap failed"; return 1
  fi
  # debootstrap unmounts its /proc and /sys when it ends; make sure, since the tree is copied as it is.
  local m
  while read -r m; do umount -l "$m"; done < <(findmnt -rn -o TARGET | awk -v p="$r/" 'index($0, p) == 1' | sort -r)

  local kernel initrd
  kernel=$(find "$r/boot" -name 'vmlinuz-*' | sort | tail -n 1)
  initrd=$r/boot/initrd.img-${kernel##*/vmlinuz-}
  [[ -f $kernel && -f $initrd ]] || { log "no kernel/initramfs in the chroot's /boot"; return 1; }
  # The initramfs must find /dev/vda2 (initramfs-tools' MODULES=most takes virtio_blk unless it is built in).
  if ! grep -q '^CONFIG_VIRTIO_BLK=y' "$r/boot/config-${kernel##*/vmlinuz-}" \
     && [[ "$(chroot "$r" lsinitramfs "/boot/${initrd##*/}")" != *virtio_blk* ]]; then
    log "adding virtio_blk to the initramfs"
    printf 'virtio_pci\nvirtio_blk\n' >> "$r/etc/initramfs-tools/modules"
    chroot "$r" update-initramfs -u -k "${kernel##*/vmlinuz-}" >/dev/null
  fi

  # Configuration: root on /dev/vda2, NoCloud seeds only (no probing for cloud metadata services), a fresh
  # machine-id and fresh SSH host keys on each clone (cloud-init's ssh module regenerates them), no apt timers.
  printf '/dev/vda2 / ext4 defaults,errors=remount-ro 0 1\n' > "$r/etc/fstab"
  echo debian > "$r/etc/hostname"
  printf '127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n' > "$r/etc/hosts"
  printf 'auto lo\niface lo inet loopback\n\nsource /etc/network/interfaces.d/*\n' > "$r/etc/network/interfaces"
  : > "$r/etc/resolv.conf"
  : > "$r/etc/machine-id"
  rm -f "$r"/etc/ssh/ssh_host_* "$r/var/lib/dbus/machine-id"
  printf 'datasource_list: [ NoCloud, None ]\n' > "$r/etc/cloud/cloud.cfg.d/99-hangar-test.cfg"
  # cloud-init's locale module (default en_US.UTF-8) runs Debian's locale-gen, which generates only what
  # /etc/locale.gen enables: without this it fails and `cloud-init status` says error.
  sed -i 's/^# *\(en_US.UTF-8 UTF-8\)/\1/' "$r/etc/locale.gen"
  chroot "$r" locale-gen >/dev/null
  echo 'LANG=en_US.UTF-8' > "$r/etc/default/locale"
  ln -sf /dev/null "$r/etc/systemd/system/apt-daily.timer"
  ln -sf /dev/null "$r/etc/systemd/system/apt-daily-upgrade.timer"
  cat > "$r/usr/local/sbin/hangar-cloud-check" <<'CHECK'
#!/bin/sh
# Prints on the serial console what cloud-init applied (Hangar's tests wait for this line).
line="CLOUD-CHECK hostname=$(hostname)"
while IFS=: read -r name _ uid _ _ home _; do
  [ "$uid" -ge 1000 ] && [ "$uid" -lt 65534 ] || continue
  case "$home" in /home/*) ;; *) continue ;; esac
  keys=0
  [ -f "$home/.ssh/authorized_keys" ] && keys=$(grep -c . "$home/.ssh/authorized_keys")
  line="$line user=$name keys=$keys passwd=$(passwd -S "$name" | cut -d' ' -f2)"
done < /etc/passwd
status=$(cloud-init status 2>/dev/null | sed -n 's/^status: //p')
line="$line status=${status:-unknown} instance=$(cat /var/lib/cloud/data/instance-id 2>/dev/null || echo none)"
# When cloud-init did not finish cleanly, say why: its recorded errors and the last warnings of its log.
if [ "$status" != done ]; then
  errs=$(python3 -c 'import json; print("; ".join(json.load(open("/run/cloud-init/result.json"))["v1"]["errors"]))' 2>&1)
  line="$line
CLOUD-ERR result: $errs"
  line="$line
$(grep -E 'WARNING|ERROR' /var/log/cloud-init.log | tail -n 8 | sed 's/^/CLOUD-ERR log: /')"
fi
echo "$line"
{ echo "$line" > /dev/ttyS0; } 2>/dev/null || echo "$line" > /dev/console
CHECK
  chmod 755 "$r/usr/local/sbin/hangar-cloud-check"
  cat > "$r/etc/systemd/system/hangar-cloud-check.service" <<'UNIT'
[Unit]
Description=Print what cloud-init applied on the serial console (Hangar tests)
After=cloud-final.service

[Service]
Type=oneshot
ExecStart=/usr/local/sbin/hangar-cloud-check
RemainAfterExit=yes

[Install]
WantedBy=cloud-init.target
UNIT
  # cloud-final.service runs after multi-user.target: hang the check on cloud-init.target (an ordering cycle
  # with multi-user.target otherwise, and systemd drops the job).
  mkdir -p "$r/etc/systemd/system/cloud-init.target.wants"
  ln -sf /etc/systemd/system/hangar-cloud-check.service "$r/etc/systemd/system/cloud-init.target.wants/"
  rm -rf "$r"/var/lib/apt/lists/* "$r"/var/cache/apt/*.bin "$r"/var/cache/apt/archives/*.deb "$r/var/log/bootstrap.log"

  # The disk: 1 MiB gap (MBR + syslinux's mbr.bin), 128 MiB FAT boot partition, the rest ext4 root (2 GiB in all
  # unless the tree needs more). cloud-init's growpart grows partition 2 when a clone's disk is larger.
  local boot_mb=128 root_mb used_mb
  used_mb=$(du -sm --one-file-system "$r" | cut -f1)
  root_mb=$(( used_mb * 5 / 4 + 512 ))
  if (( root_mb < 2048 - 1 - boot_mb )); then root_mb=$(( 2048 - 1 - boot_mb )); fi
  printf 'DEFAULT debian\nTIMEOUT 0\nLABEL debian\n  KERNEL /vmlinuz\n  INITRD /initrd.img\n  APPEND root=/dev/vda2 ro console=tty0 console=ttyS0,115200n8\n' \
    > "$work/syslinux.cfg"
  cp "$kernel" "$work/vmlinuz"; cp "$initrd" "$work/initrd.img"
  truncate -s "${boot_mb}M" "$work/boot.img"
  mkfs.vfat -n HANGARBOOT "$work/boot.img" >/dev/null
  mcopy -i "$work/boot.img" "$work/vmlinuz" "$work/initrd.img" "$work/syslinux.cfg" ::/
  syslinux --install "$work/boot.img"
  truncate -s "${root_mb}M" "$work/rootfs.img"
  mke2fs -q -F -t ext4 -L debian-root -d "$r" "$work/rootfs.img"
  truncate -s "$(( 1 + boot_mb + root_mb ))M" "$work/disk.img"
  printf 'label: dos\nstart=2048, size=%s, type=c, bootable\nstart=%s, type=83\n' \
    "$(( boot_mb * 2048 ))" "$(( (1 + boot_mb) * 2048 ))" | sfdisk -q "$work/disk.img"
  dd if="$work/boot.img" of="$work/disk.img" bs=1M seek=1 conv=notrunc,sparse status=none
  dd if="$work/rootfs.img" of="$work/disk.img" bs=1M seek=$(( 1 + boot_mb )) conv=notrunc,sparse status=none
  dd if=/usr/lib/syslinux/mbr/mbr.bin of="$work/disk.img" bs=440 count=1 conv=notrunc status=none
  qemu-img convert -c -O qcow2 "$work/disk.img" "$work/debian-cloud.qcow2"
  chmod 644 "$work/debian-cloud.qcow2"
  mv "$work/debian-cloud.qcow2" "$DEBIAN_TEMPLATE"
  trap - EXIT
  cleanup_tree "$work"
  log "Debian template: $DEBIAN_TEMPLATE ($(du -h "$DEBIAN_TEMPLATE" | cut -f1))"
}

host2_pid() { cat "$H2/run/virtlogd.pid" 2>/dev/null; }

start_host2() {
  if [[ ! -e /run/netns/host2 ]]; then
    ip netns add host2
    ip link add veth-h1 type veth peer name veth-h2
    ip link set veth-h2 netns host2
    ip addr add 10.250.0.1/24 dev veth-h1 && ip link set veth-h1 up
    ip netns exec host2 sh -c 'ip addr add 10.250.0.2/24 dev veth-h2 && ip link set veth-h2 up && ip link set lo up'
  fi
  if alive "$H2/run/libvirtd.pid" && virsh -c qemu+tcp://10.250.0.2/system version >/dev/null 2>&1; then return 0; fi
  mkdir -p "$H2"/{run,etc,lib,log,cache}
  [[ -f $H2/etc/libvirtd.conf ]] || { cp -a /etc/libvirt/. "$H2/etc/"; mkdir -p "$H2/lib"/{qemu,images,network}; }
  [[ -d $H2/cache/qemu ]] || cp -a /var/cache/libvirt/. "$H2/cache/" 2>/dev/null || true
  conf_libvirtd 10.250.0.2 "8e1c3a52-1b7e-4c7e-9a51-000000000002" > "$H2/etc/libvirtd.conf"
  # host2 has its own /var/lib/libvirt: give it the same guest files at the same path.
  mkdir -p "$H2/lib/images/hangar-guest"
  cp -u "$GUEST"/vmlinuz "$GUEST"/initrd.img "$GUEST"/template.qcow2 "$GUEST"/install.iso "$H2/lib/images/hangar-guest/"
  # The cgroup v1 tree is not usable from inside the namespace; host2's guests run without cgroups.
  grep -q '^cgroup_controllers = \[ \]' "$H2/etc/qemu.conf" 2>/dev/null || echo 'cgroup_controllers = [ ]' >> "$H2/etc/qemu.conf"
  if alive "$H2/run/virtlogd.pid"; then
    # The namespace is still there (only libvirtd died): start libvirtd inside it again.
    nsenter --target "$(host2_pid)" --mount --net --uts \
      libvirtd -d --listen -f /etc/libvirt/libvirtd.conf -p /run/libvirt/libvirtd.pid
  else
    log "starting host2 (network namespace, 10.250.0.2)"
    nsenter --net=/run/netns/host2 unshare --mount --uts --propagation private sh -ec "
      hostname host2
      mount --bind $H2/run /run/libvirt
      mount --bind $H2/etc /etc/libvirt
      mount --bind $H2/lib /var/lib/libvirt
      mount --bind $H2/log /var/log/libvirt
      mount --bind $H2/cache /var/cache/libvirt
      mount -t sysfs sysfs /sys
      mount --rbind /proc/1/root/sys/fs/cgroup /sys/fs/cgroup 2>/dev/null || true
      virtlogd -d -p /run/libvirt/virtlogd.pid
      libvirtd -d --listen -f /etc/libvirt/libvirtd.conf -p /run/libvirt/libvirtd.pid
    "
  fi
  for _ in $(seq 100); do virsh -c qemu+tcp://10.250.0.2/system version >/dev/null 2>&1 && return 0; sleep 0.2; done
  log "host2 did not answer"; return 1
}

stop_pidfile() { # pidfile: TERM, wait up to 5 s, then KILL
  if alive "$1"; then kill "$(cat "$1")"; fi
  for _ in $(seq 50); do alive "$1" || return 0; sleep 0.1; done
  kill -9 "$(cat "$1")" 2>/dev/null || true
  for _ in $(seq 20); do alive "$1" || return 0; sleep 0.1; done
}

stop_host2() { stop_pidfile "$H2/run/libvirtd.pid"; }

case "$cmd" in
  local) install_packages; start_local ;;
  up) install_packages; start_local; ensure_pool; build_guest; build_template; start_host2; log "ready: qemu:///system, qemu+tcp://10.250.0.2/system, guest in $GUEST" ;;
  host2-stop) stop_host2 ;;
  host2-start) start_host2 ;;
  debian-template) install_packages; build_debian_template ;;
  *) echo "usage: $0 [up|local|host2-stop|host2-start|debian-template]" >&2; exit 2 ;;
esac
