#!/usr/bin/env node
// The vendor's fleet tool (provisioning/fleet), from a checkout with its development dependencies (balena-sdk, tsx):
// it runs on the vendor's machine, never on a box.
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const { register } = await import('tsx/esm/api');
register();
await import(pathToFileURL(join(root, 'provisioning/fleet/main.ts')).href);
