#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t devtmpfs dev /dev
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t debugfs none /sys/kernel/debug
mount -t tmpfs tmp /tmp
echo 2 > /proc/sys/kernel/hung_task_timeout_secs
D=/sys/kernel/debug/provoke-crash/DIRECT
/bin/remap
echo WARNING > $D
sh -c "echo HUNG_TASK > $D" &
sleep 7
sh -c "echo BUG > $D"
sh -c "echo EXCEPTION > $D"
sh -c "echo WRITE_RO > $D"
timeout 3 cat /dev/kmsg > /dev/ttyS1
echo SOFTLOCKUP > $D
