// Tiny real guests defined with virsh (as an outside tool would), and an admin API client.
import { request as apiRequest, APIRequestContext } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { ADMIN_PASSWORD } from '../playwright.config';

export const virsh = (...args: string[]) =>
  execFileSync('virsh', ['-q', '-c', 'qemu:///system', ...args], { stdio: 'pipe' }).toString().trim();

export function defineGuest(name: string, devices = '', cmdline = ''): string {
  const dir = '/var/lib/libvirt/images/hangar-guest';
  const xml = `<domain type='qemu'><name>${name}</name><memory unit='MiB'>128</memory><vcpu>1</vcpu>
    <os><type arch='x86_64' machine='pc'>hvm</type><kernel>${dir}/vmlinuz</kernel><initrd>${dir}/initrd.img</initrd>
    <cmdline>console=ttyS0 quiet panic=-1 ${cmdline}</cmdline></os><features><acpi/></features>
    <devices><serial type='pty'><log file='/tmp/${name}-serial.log' append='off'/><target port='0'/></serial>${devices}</devices></domain>`;
  writeFileSync(`/tmp/${name}.xml`, xml);
  virsh('define', `/tmp/${name}.xml`);
  return virsh('domuuid', name);
}

export function removeGuest(name: string) {
  try { virsh('destroy', name); } catch { /* not running */ }
  try { virsh('undefine', name); } catch { /* already gone */ }
}

export async function adminApi(baseURL: string): Promise<[APIRequestContext, string]> {
  const api = await apiRequest.newContext({ baseURL });
  const me = await (await api.post('/api/v1/auth/login', { data: { username: 'admin', password: ADMIN_PASSWORD } })).json();
  return [api, me.csrf_token];
}

