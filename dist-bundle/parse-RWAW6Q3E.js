import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);
import{j as a,k as b,l as c,m as d,n as e,o as f,p as g}from"./chunk-J25AJB76.js";import"./chunk-7QWMKDIK.js";export{b as ReportError,a as extractCda,g as inspectHl7,f as looksLikeXml,e as reportFromBytes,d as reportFromCda,c as reportFromHl7};
