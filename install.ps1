# Installs the mixpeek CLI on Windows: downloads mixpeek-x86_64-pc-windows-msvc.exe from a GitHub release,
# checks it against the release's SHA256SUMS and puts it in %LOCALAPPDATA%\mixpeek\bin (or
# $env:MIXPEEK_INSTALL_DIR) as mixpeek.exe. Same variables as install.sh:
#   MIXPEEK_VERSION (tag, default latest), MIXPEEK_INSTALL_DIR, MIXPEEK_REPO, MIXPEEK_DOWNLOAD_URL.
#
#   irm https://github.com/mixpeek/mixpeek-cli/releases/latest/download/install.ps1 | iex
$ErrorActionPreference = 'Stop'

if ($env:PROCESSOR_ARCHITECTURE -ne 'AMD64') {
  throw "install.ps1: unsupported CPU $($env:PROCESSOR_ARCHITECTURE) (Windows binaries exist for x86_64)"
}
$asset = 'mixpeek-x86_64-pc-windows-msvc.exe'
$repo = if ($env:MIXPEEK_REPO) { $env:MIXPEEK_REPO } else { 'mixpeek/mixpeek-cli' }
if ($env:MIXPEEK_DOWNLOAD_URL) {
  $base = $env:MIXPEEK_DOWNLOAD_URL.TrimEnd('/')
} elseif ($env:MIXPEEK_VERSION) {
  $base = "https://github.com/$repo/releases/download/$($env:MIXPEEK_VERSION)"
} else {
  $base = "https://github.com/$repo/releases/latest/download"
}
$dir = if ($env:MIXPEEK_INSTALL_DIR) { $env:MIXPEEK_INSTALL_DIR } else { Join-Path $env:LOCALAPPDATA 'mixpeek\bin' }

$tmp = Join-Path ([System.IO.Path]::GetTempPath()) ("mixpeek-install-" + [System.Guid]::NewGuid())
New-Item -ItemType Directory -Path $tmp | Out-Null
try {
  Write-Host "install.ps1: downloading $asset from $base"
  Invoke-WebRequest -UseBasicParsing -Uri "$base/SHA256SUMS" -OutFile (Join-Path $tmp 'SHA256SUMS')
  Invoke-WebRequest -UseBasicParsing -Uri "$base/$asset" -OutFile (Join-Path $tmp $asset)

  $line = Get-Content (Join-Path $tmp 'SHA256SUMS') | Where-Object { ($_ -split '\s+')[1] -in @($asset, "*$asset") } |
    Select-Object -First 1
  if (-not $line) { throw "install.ps1: SHA256SUMS has no line for $asset; nothing was installed" }
  $expected = ($line -split '\s+')[0].ToLower()
  $actual = (Get-FileHash -Algorithm SHA256 (Join-Path $tmp $asset)).Hash.ToLower()
  if ($actual -ne $expected) {
    throw "install.ps1: checksum mismatch for ${asset}: expected $expected, got $actual; nothing was installed"
  }

  New-Item -ItemType Directory -Force -Path $dir | Out-Null
  $partial = Join-Path $dir '.mixpeek.exe.partial'
  Copy-Item (Join-Path $tmp $asset) $partial -Force
  Move-Item $partial (Join-Path $dir 'mixpeek.exe') -Force
  Write-Host "install.ps1: installed $(Join-Path $dir 'mixpeek.exe') (sha256 $actual)"
  if (-not (($env:PATH -split ';') -contains $dir)) {
    Write-Host "install.ps1: add $dir to your PATH, e.g.: [Environment]::SetEnvironmentVariable('PATH', `"$dir;`$env:PATH`", 'User')"
  }
} finally {
  Remove-Item -Recurse -Force $tmp -ErrorAction SilentlyContinue
}
