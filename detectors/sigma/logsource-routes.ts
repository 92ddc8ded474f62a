import type { Logsource } from './sigma-rule.ts'

/**
 * Logsource routing and field mapping as data, in the manner of pySigma's processing
 * pipelines: each entry says which events a Sigma logsource covers and how the rule's field
 * names map onto those events. Adding a source is adding a row, never a code branch.
 */

/** How field names resolve: Windows EventData names, or ECS dotted paths. */
export type FieldFamily = 'windows' | 'ecs'

/** One way a logsource shows up in events; a route may have several (Sysmon or Security). */
export interface RouteVariant {
  /** Windows channels (compared case-insensitively). */
  channels?: readonly string[]
  /** Windows event ids within those channels; absent means every event of the channel. */
  eventIds?: readonly number[]
  /** `event.dataset` values. */
  datasets?: readonly string[]
  /** `log.syslog.appname` values. */
  appnames?: readonly string[]
  /** Every event of a family: any Windows event, or any syslog record. */
  anyOf?: 'windows' | 'syslog'
  /** Sigma field name → the event's field names to try, in order. */
  fields?: Readonly<Record<string, readonly string[]>>
}

export interface LogsourceRoute {
  logsource: Logsource
  family: FieldFamily
  variants: readonly RouteVariant[]
}

const SYSMON = 'Microsoft-Windows-Sysmon/Operational'
const POWERSHELL = ['Microsoft-Windows-PowerShell/Operational', 'PowerShellCore/Operational']

/** Sysmon event ids per Sigma category (Sysmon's event reference; Sigma taxonomy appendix). */
const sysmonCategories: Record<string, number[]> = {
  process_creation: [1],
  file_change: [2],
  network_connection: [3],
  sysmon_status: [4, 16],
  process_termination: [5],
  driver_load: [6],
  image_load: [7],
  create_remote_thread: [8],
  raw_access_thread: [9],
  process_access: [10],
  file_event: [11],
  registry_add: [12],
  registry_delete: [12],
  registry_set: [13],
  registry_rename: [14],
  registry_event: [12, 13, 14],
  create_stream_hash: [15],
  pipe_created: [17, 18],
  wmi_event: [19, 20, 21],
  dns_query: [22],
  file_delete: [23, 26],
  file_delete_detected: [26],
  clipboard_change: [24],
  process_tampering: [25],
  file_block_executable: [27],
  file_block_shredding: [28],
  file_executable_detected: [29],
  sysmon_error: [255],
}

/** Windows `service` → channels (Sigma taxonomy appendix, "Windows" services). */
const windowsServices: Record<string, string[]> = {
  security: ['Security'],
  system: ['System'],
  application: ['Application'],
  sysmon: [SYSMON],
  powershell: POWERSHELL,
  'powershell-classic': ['Windows PowerShell'],
  windefend: ['Microsoft-Windows-Windows Defender/Operational'],
  taskscheduler: ['Microsoft-Windows-TaskScheduler/Operational'],
  wmi: ['Microsoft-Windows-WMI-Activity/Operational'],
  'dns-server': ['DNS Server'],
  'dns-server-analytic': ['Microsoft-Windows-DNS-Server/Analytical'],
  'dns-server-audit': ['Microsoft-Windows-DNS-Server/Audit'],
  'dns-client': ['Microsoft-Windows-DNS Client Events/Operational'],
  'driver-framework': ['Microsoft-Windows-DriverFrameworks-UserMode/Operational'],
  ntlm: ['Microsoft-Windows-NTLM/Operational'],
  applocker: [
    'Microsoft-Windows-AppLocker/MSI and Script',
    'Microsoft-Windows-AppLocker/EXE and DLL',
    'Microsoft-Windows-AppLocker/Packaged app-Deployment',
    'Microsoft-Windows-AppLocker/Packaged app-Execution',
  ],
  'msexchange-management': ['MSExchange Management'],
  'codeintegrity-operational': ['Microsoft-Windows-CodeIntegrity/Operational'],
  'firewall-as': ['Microsoft-Windows-Windows Firewall With Advanced Security/Firewall'],
  'bits-client': ['Microsoft-Windows-Bits-Client/Operational'],
  'security-mitigations': [
    'Microsoft-Windows-Security-Mitigations/Kernel Mode',
    'Microsoft-Windows-Security-Mitigations/User Mode',
  ],
  'appxdeployment-server': ['Microsoft-Windows-AppXDeploymentServer/Operational'],
  'appxpackaging-om': ['Microsoft-Windows-AppxPackaging/Operational'],
  'appmodel-runtime': ['Microsoft-Windows-AppModel-Runtime/Admin'],
  'smbclient-security': ['Microsoft-Windows-SmbClient/Security'],
  'smbclient-connectivity': ['Microsoft-Windows-SmbClient/Connectivity'],
  'smbserver-connectivity': ['Microsoft-Windows-SMBServer/Connectivity'],
  'terminalservices-localsessionmanager': [
    'Microsoft-Windows-TerminalServices-LocalSessionManager/Operational',
  ],
  'iis-configuration': ['Microsoft-IIS-Configuration/Operational'],
  'lsa-server': ['Microsoft-Windows-LSA/Operational'],
  capi2: ['Microsoft-Windows-CAPI2/Operational'],
  'certificateservicesclient-lifecycle-system': [
    'Microsoft-Windows-CertificateServicesClient-Lifecycle-System/Operational',
  ],
  'diagnosis-scripted': ['Microsoft-Windows-Diagnosis-Scripted/Operational'],
  'shell-core': ['Microsoft-Windows-Shell-Core/Operational'],
  openssh: ['OpenSSH/Operational'],
  'printservice-admin': ['Microsoft-Windows-PrintService/Admin'],
  'printservice-operational': ['Microsoft-Windows-PrintService/Operational'],
  'kernel-shimengine': ['Microsoft-Windows-Kernel-ShimEngine/Operational'],
  'ldap-client': ['Microsoft-Windows-LDAP-Client/Debug'],
  vhdmp: ['Microsoft-Windows-VHDMP/Operational'],
  'hyper-v-worker': ['Microsoft-Windows-Hyper-V-Worker-Admin'],
  'microsoft-servicebus-client': ['Microsoft-ServiceBus-Client'],
}

/** Security 4688 carries process creation under its own names (Windows audit pipeline). */
const security4688Fields: Record<string, string[]> = {
  Image: ['NewProcessName'],
  ParentImage: ['ParentProcessName'],
  CommandLine: ['CommandLine', 'ProcessCommandLine'],
  ProcessId: ['NewProcessId'],
  ParentProcessId: ['ProcessId'],
  LogonId: ['SubjectLogonId'],
}

function windows(logsource: Logsource, ...variants: RouteVariant[]): LogsourceRoute {
  return { logsource: { product: 'windows', ...logsource }, family: 'windows', variants }
}

function linux(service: string | undefined, ...variants: RouteVariant[]): LogsourceRoute {
  const logsource: Logsource = service ? { product: 'linux', service } : { product: 'linux' }
  return { logsource, family: 'ecs', variants }
}

const authApps = ['sshd', 'sudo', 'su', 'login', 'systemd-logind', 'passwd', 'useradd', 'usermod']

/** The built-in route table. Callers may pass their own (or extend this one). */
export const defaultRoutes: readonly LogsourceRoute[] = [
  windows(
    { category: 'process_creation' },
    { channels: [SYSMON], eventIds: [1] },
    { channels: ['Security'], eventIds: [4688], fields: security4688Fields },
  ),
  ...Object.entries(sysmonCategories)
    .filter(([category]) => category !== 'process_creation')
    .map(([category, eventIds]) => windows({ category }, { channels: [SYSMON], eventIds })),
  windows({ category: 'ps_module' }, { channels: POWERSHELL, eventIds: [4103] }),
  windows({ category: 'ps_script' }, { channels: POWERSHELL, eventIds: [4104] }),
  windows({ category: 'ps_classic_start' }, { channels: ['Windows PowerShell'], eventIds: [400] }),
  windows(
    { category: 'ps_classic_provider_start' },
    { channels: ['Windows PowerShell'], eventIds: [600] },
  ),
  windows({ category: 'ps_classic_script' }, { channels: ['Windows PowerShell'], eventIds: [800] }),
  ...Object.entries(windowsServices).map(([service, channels]) =>
    windows({ service }, { channels }),
  ),
  windows({}, { anyOf: 'windows' }),
  linux('sshd', { datasets: ['sshd'] }, { appnames: ['sshd'] }),
  linux('auth', { datasets: ['linux.auth', 'sshd'] }, { appnames: authApps }),
  linux('sudo', { appnames: ['sudo'] }),
  linux('vsftpd', { appnames: ['vsftpd'] }),
  linux('cron', { appnames: ['cron', 'CRON', 'crond'] }),
  linux('syslog', { anyOf: 'syslog' }),
  linux('auditd', { datasets: ['auditd', 'linux.audit'] }),
  linux(undefined, { anyOf: 'syslog' }),
]

/**
 * The route for a rule's logsource: the entry whose product, category and service are
 * exactly the rule's (absent on both sides counts as equal). Undefined means unrouted.
 */
export function findRoute(
  logsource: Logsource,
  routes: readonly LogsourceRoute[] = defaultRoutes,
): LogsourceRoute | undefined {
  return routes.find(
    (r) =>
      r.logsource.product === logsource.product &&
      r.logsource.category === logsource.category &&
      r.logsource.service === logsource.service,
  )
}

/** The index keys a variant is filed under; an event looks itself up by the same keys. */
export function variantKeys(v: RouteVariant): string[] {
  const keys: string[] = []
  if (v.anyOf === 'windows') keys.push('w')
  if (v.anyOf === 'syslog') keys.push('s')
  for (const channel of v.channels ?? []) {
    const ch = channel.toLowerCase()
    if (v.eventIds) for (const id of v.eventIds) keys.push(`w:${ch}:${id}`)
    else keys.push(`w:${ch}`)
  }
  for (const d of v.datasets ?? []) keys.push(`d:${d}`)
  for (const a of v.appnames ?? []) keys.push(`a:${a}`)
  return keys
}
