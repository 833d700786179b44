import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);
import{a as i}from"./chunk-BNC33EF5.js";import{c as e,e as n}from"./chunk-EWNVOTDI.js";import"./chunk-7QWMKDIK.js";var a={serve:()=>import("./serve-XP3YJ6VD.js"),config:()=>import("./config-SKH3WB2I.js"),pacs:()=>import("./pacs-4VD4HX7K.js"),synth:()=>import("./synth-3NRG2NW3.js"),hl7:()=>import("./hl7-SZLI7WRG.js"),kos:()=>import("./kos-S327EQ5V.js"),queue:()=>import("./queue-XIM7XLFX.js"),xds:()=>import("./xds-6FBBYG5M.js"),audit:()=>import("./audit-Z2FKLQ2X.js")};async function c(){let o=["usage: drimbox <command> [options]   (drimbox <command> --help for details)",""];for(let[t,s]of Object.entries(a))try{o.push(`  ${t.padEnd(8)} ${(await s()).command.summary}`)}catch{}return o.join(`
`)}async function d(o){let[t,...s]=o;if(!t||t==="--help"||t==="-h"||t==="help")return process.stdout.write(await c()+`
`),t?0:2;let r=a[t];if(!r)return process.stderr.write(`drimbox: unknown command "${t}"

${await c()}
`),2;let{command:m}=await r();return m.run(s)}process.stdout.on("error",o=>{throw o.code==="EPIPE"&&process.exit(0),o});process.on("unhandledRejection",o=>{process.stderr.write(`drimbox: unhandled rejection: ${o instanceof Error?o.stack:String(o)}
`)});d(process.argv.slice(2)).then(o=>{process.exitCode=o},o=>{o instanceof e||o instanceof i||o instanceof n?(process.stderr.write(`drimbox: ${o.message}
`),process.exitCode=o instanceof n?2:1):(process.stderr.write(`drimbox: ${o instanceof Error?o.stack??o.message:String(o)}
`),process.exitCode=1)});
