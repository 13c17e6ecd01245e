/**
 * The NAT agent as a CDK asset: the esbuild bundle of `agent/main.ts`, its systemd unit and
 * `install.sh`, zipped into one S3 object. An installed package ships it ready-made; from sources
 * it is bundled locally with esbuild at synth, so a fresh clone needs neither `npm run build` nor
 * Docker.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { AssetStaging } from 'aws-cdk-lib';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import { Construct } from 'constructs';
import { NODE_BUNDLE_OPTIONS } from '../../scripts/bundle-options';
import { AGENT_PACKAGE_DIR, assetFrom, loadEsbuild, type CodeSource } from './bundles';

/** File names inside the asset; user data refers to them. */
export const AGENT_BUNDLE_FILE = 'natbeat-agent.mjs';
export const AGENT_UNIT_FILE = 'natbeat-agent.service';
export const AGENT_INSTALL_FILE = 'install.sh';
/** Every file of the package: user data checks each one's sha256 before anything runs. */
export const AGENT_PACKAGE_FILES = [AGENT_BUNDLE_FILE, AGENT_UNIT_FILE, AGENT_INSTALL_FILE] as const;

export interface AgentAssetProps {
  /** Where the agent package comes from. */
  readonly source: CodeSource;
}

/** Paths of the agent's sources under a source root. */
export function agentSources(sourceRoot: string) {
  const agentDir = path.join(sourceRoot, 'agent');
  return {
    agentDir,
    entry: path.join(agentDir, 'main.ts'),
    unit: path.join(agentDir, 'systemd', AGENT_UNIT_FILE),
    install: path.join(agentDir, AGENT_INSTALL_FILE),
  };
}

/**
 * Writes the agent package (bundle + unit + install script) into `outputDir`. Exported so tests,
 * the package build and tools stage the same package the asset ships.
 */
export function stageAgentPackage(sourceRoot: string, outputDir: string): void {
  const src = agentSources(sourceRoot);
  for (const file of [src.entry, src.unit, src.install]) {
    if (!existsSync(file)) throw new Error(`natbeat agent package: missing ${path.relative(sourceRoot, file)}`);
  }
  loadEsbuild().buildSync({
    entryPoints: [src.entry],
    outfile: path.join(outputDir, AGENT_BUNDLE_FILE),
    ...NODE_BUNDLE_OPTIONS,
    // No source map on the NATs: it would triple the download, and the unit does not enable them.
    sourcemap: false,
    absWorkingDir: sourceRoot,
  });
  copyFileSync(src.unit, path.join(outputDir, AGENT_UNIT_FILE));
  copyFileSync(src.install, path.join(outputDir, AGENT_INSTALL_FILE));
}

/** `sha256  file` lines, as `sha256sum --check` reads them, for every file of a staged package. */
export function packageDigests(packageDir: string): string {
  return AGENT_PACKAGE_FILES.map((file) => `${createHash('sha256').update(readFileSync(path.join(packageDir, file))).digest('hex')}  ${file}`).join('\n');
}

/** An S3 asset (zip) with the agent package, prebuilt or bundled locally at synth. */
export class AgentAsset extends s3assets.Asset {
  /**
   * The package's `sha256  file` lines, computed at synth from what is uploaded. A stack whose
   * bundling was skipped (`cdk deploy` of another stack) gets lines that can never match.
   */
  public readonly digests: string;

  constructor(scope: Construct, id: string, props: AgentAssetProps) {
    super(scope, id, assetFrom(props.source, AGENT_PACKAGE_DIR, 'agent', stageAgentPackage));
    const staged = (this.node.findChild('Stage') as AssetStaging).absoluteStagedPath;
    this.digests = existsSync(path.join(staged, AGENT_BUNDLE_FILE))
      ? packageDigests(staged)
      : AGENT_PACKAGE_FILES.map((file) => `${'0'.repeat(64)}  ${file}`).join('\n');
  }
}
